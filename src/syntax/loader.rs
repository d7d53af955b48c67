//! The loader: reads the files of a spec in order, parses them, resolves `include`s and
//! splices the included clauses at the include position, each file once.
//!
//! Include paths resolve relative to the including file's directory, then relative to the
//! directory of the first file on the command line (Molly's rule). A missing or unreadable
//! file and an include cycle are [`Diagnostic`]s with code `include` whose notes name the
//! chain of includes. Header lines are read from the files named on the command line only.
//!
//! Only regular files are read (a device, a FIFO or a directory is refused before it is
//! opened, so `include "/dev/zero";` cannot exhaust memory and a FIFO cannot block), and a
//! spec file is at most [`MAX_SPEC_BYTES`] long.

use crate::config::HeaderConfig;
use crate::diag::Diagnostic;
use crate::syntax::ast::{Clause, FileId, Program, Span};
use crate::syntax::parser::{self, Item};
use crate::syntax::{header, Loaded, SourceFile, SourceMap};
use std::collections::HashSet;
use std::path::{Component, Path, PathBuf};

/// State of one load.
#[derive(Default)]
pub(super) struct Loader {
    sources: SourceMap,
    /// For each file, the path it was opened with (`None` for in-memory sources).
    opened: Vec<Option<PathBuf>>,
    clauses: Vec<Clause>,
    headers: Vec<HeaderConfig>,
    diags: Vec<Diagnostic>,
    /// Canonical paths of every file loaded so far.
    loaded: HashSet<PathBuf>,
    /// Canonical paths of the files being loaded (the current include chain).
    active: Vec<PathBuf>,
    /// Directory of the first command-line file: the fallback for include paths.
    root_dir: PathBuf,
}

impl Loader {
    pub(super) fn new(root_dir: PathBuf) -> Loader {
        Loader { root_dir, ..Loader::default() }
    }

    /// Load a file named on the command line.
    pub(super) fn load_path(&mut self, path: &Path) {
        let canonical = match path.canonicalize() {
            Ok(c) => c,
            Err(e) => {
                let hint = "files on the command line are relative to the current directory";
                self.diags.push(cannot_read(path, &io_reason(&e)).hint(hint));
                return;
            }
        };
        if !self.loaded.contains(&canonical) {
            self.load_file(path, canonical, None);
        }
    }

    /// Load an in-memory source (its includes resolve relative to the current directory).
    pub(super) fn load_text(&mut self, name: &str, text: &str) {
        let file = SourceFile {
            name: name.to_owned(),
            path: None,
            text: text.to_owned(),
            included_from: None,
        };
        self.add_and_parse(file, None);
    }

    pub(super) fn finish(self) -> Result<Loaded, (SourceMap, Vec<Diagnostic>)> {
        if self.diags.iter().any(Diagnostic::is_error) {
            return Err((self.sources, self.diags));
        }
        Ok(Loaded {
            sources: self.sources,
            program: Program { clauses: self.clauses },
            headers: self.headers,
            warnings: self.diags,
        })
    }

    /// Read, parse and splice one file that is not loaded yet.
    fn load_file(&mut self, path: &Path, canonical: PathBuf, from: Option<Span>) {
        let text = match read_text(path) {
            Ok(t) => t,
            Err(reason) => {
                let mut d = Diagnostic::error(
                    "include",
                    format!("cannot read `{}`: {reason}", display_name(path)),
                );
                if let Some(span) = from {
                    d = d
                        .at(span, "included here")
                        .note(self.chain_note(span, &display_name(path)));
                }
                self.diags.push(d);
                return;
            }
        };
        self.loaded.insert(canonical.clone());
        self.active.push(canonical.clone());
        let file = SourceFile {
            name: display_name(path),
            path: Some(canonical),
            text,
            included_from: from,
        };
        self.add_and_parse(file, Some(path.to_owned()));
        self.active.pop();
    }

    fn add_and_parse(&mut self, file: SourceFile, opened: Option<PathBuf>) {
        let id = FileId(self.sources.files.len() as u32);
        let top_level = file.included_from.is_none();
        let (items, diags) = parser::parse(id, &file.text);
        if top_level {
            let (headers, header_diags) = header::parse_headers(id, &file.text);
            self.headers.extend(headers);
            self.diags.extend(header_diags);
        }
        self.sources.files.push(file);
        self.opened.push(opened);
        self.diags.extend(diags);
        for item in items {
            match item {
                Item::Clause(c) => self.clauses.push(c),
                Item::Include { path, path_span, .. } => self.include(id, &path, path_span),
                Item::Error => {}
            }
        }
    }

    /// Resolve and load `include "path";` written in file `from`.
    fn include(&mut self, from: FileId, path: &str, span: Span) {
        let candidates = self.candidates(from, path);
        let Some(found) = candidates.iter().find(|c| c.exists()) else {
            let mut d = Diagnostic::error("include", format!("cannot find included file `{path}`"))
                .at(span, "no such file")
                .note(self.chain_note(span, path));
            for c in &candidates {
                d = d.note(format!("looked for {}", display_name(c)));
            }
            let hint = "include paths are relative to the including file's directory, \
                        then to the first spec file's directory";
            self.diags.push(d.hint(hint));
            return;
        };
        let canonical = match found.canonicalize() {
            Ok(c) => c,
            Err(e) => {
                let d = cannot_read(found, &io_reason(&e)).at(span, "included here");
                self.diags.push(d.note(self.chain_note(span, path)));
                return;
            }
        };
        if self.active.contains(&canonical) {
            let name = display_name(found);
            let d =
                Diagnostic::error("include", format!("include cycle: `{name}` includes itself"))
                    .at(span, "this include closes the cycle")
                    .note(self.chain_note(span, &name))
                    .hint(
                        "remove one of the includes (every file is loaded once, so a file that \
                       both include can hold what they share)",
                    );
            self.diags.push(d);
            return;
        }
        if !self.loaded.contains(&canonical) {
            self.load_file(found, canonical, Some(span));
        }
    }

    /// Where `include "path"` in file `from` may point, in the order they are tried.
    fn candidates(&self, from: FileId, path: &str) -> Vec<PathBuf> {
        let p = Path::new(path);
        if p.is_absolute() {
            return vec![p.to_owned()];
        }
        let dir =
            self.opened.get(from.0 as usize).and_then(|o| o.as_ref()).and_then(|o| o.parent());
        let mut out = vec![dir.unwrap_or(Path::new("")).join(p)];
        let fallback = self.root_dir.join(p);
        if !out.contains(&fallback) {
            out.push(fallback);
        }
        out
    }

    /// `include chain: a.ded:3 → b.ded:1 → target` for an include at `span`.
    fn chain_note(&self, span: Span, target: &str) -> String {
        let mut steps = Vec::new();
        let mut at = Some(span);
        while let Some(s) = at {
            let (line, _) = self.sources.line_col(s.file, s.start);
            let file = self.sources.file(s.file);
            steps.push(format!("{}:{line}", file.name));
            at = file.included_from;
        }
        steps.reverse();
        steps.push(target.to_owned());
        format!("include chain: {}", steps.join(" → "))
    }
}

fn cannot_read(path: &Path, reason: &str) -> Diagnostic {
    Diagnostic::error("include", format!("cannot read `{}`: {reason}", display_name(path)))
}

/// The largest spec file ldfi reads (16 MiB): far beyond any hand-written spec, small
/// enough that reading and parsing it stays within memory.
pub const MAX_SPEC_BYTES: u64 = 16 * 1024 * 1024;

/// Read a regular file of at most [`MAX_SPEC_BYTES`] as UTF-8 text, or say why not.
fn read_text(path: &Path) -> Result<String, String> {
    use std::io::Read;
    let meta = std::fs::metadata(path).map_err(|e| io_reason(&e))?;
    if !meta.is_file() {
        return Err(not_regular(&meta.file_type()));
    }
    if meta.len() > MAX_SPEC_BYTES {
        return Err(too_large(meta.len()));
    }
    // The length can lie (files under /proc say 0, a file can grow): read one byte past the
    // limit at most.
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_SPEC_BYTES + 1).read_to_end(&mut bytes))
        .map_err(|e| io_reason(&e))?;
    if bytes.len() as u64 > MAX_SPEC_BYTES {
        return Err(too_large(bytes.len() as u64));
    }
    String::from_utf8(bytes).map_err(|e| {
        format!("not UTF-8 text (invalid byte at offset {})", e.utf8_error().valid_up_to())
    })
}

/// Why a file that exists but is not a regular file is not read.
fn not_regular(kind: &std::fs::FileType) -> String {
    if kind.is_dir() {
        return "it is a directory".to_owned();
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        let what = if kind.is_char_device() {
            Some("a character device")
        } else if kind.is_block_device() {
            Some("a block device")
        } else if kind.is_fifo() {
            Some("a FIFO, a named pipe")
        } else if kind.is_socket() {
            Some("a socket")
        } else {
            None
        };
        if let Some(what) = what {
            return format!("not a regular file (it is {what}); a spec must be a regular file");
        }
    }
    "not a regular file; a spec must be a regular file".to_owned()
}

/// The error for a file over [`MAX_SPEC_BYTES`].
fn too_large(len: u64) -> String {
    format!(
        "it is too large ({len} bytes; a spec file may be at most {} MiB, {MAX_SPEC_BYTES} bytes)",
        MAX_SPEC_BYTES >> 20
    )
}

/// A short, platform-independent reason for an I/O error.
fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".to_owned(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_owned(),
        std::io::ErrorKind::IsADirectory => "it is a directory".to_owned(),
        _ => e.to_string(),
    }
}

/// A path for messages: lexically normalised (`a/b/../c` is shown as `a/c`).
fn display_name(path: &Path) -> String {
    let mut out: Vec<Component> = Vec::new();
    for c in path.components() {
        match c {
            Component::CurDir if !out.is_empty() => {}
            Component::ParentDir if matches!(out.last(), Some(Component::Normal(_))) => {
                out.pop();
            }
            c => out.push(c),
        }
    }
    let p: PathBuf = out.iter().collect();
    p.display().to_string()
}

#[cfg(test)]
mod tests {
    use crate::syntax::ast::Clause;
    use crate::syntax::{load, load_str, Loaded};
    use std::path::{Path, PathBuf};

    /// A fresh directory with the given files (path relative to it, text).
    fn tree(name: &str, files: &[(&str, &str)]) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("ldfi-loader-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        for (path, text) in files {
            let p = dir.join(path);
            std::fs::create_dir_all(p.parent().expect("has a parent")).expect("mkdir");
            std::fs::write(p, text).expect("write");
        }
        dir
    }

    fn rels(loaded: &Loaded) -> Vec<String> {
        let name = |c: &Clause| match c {
            Clause::Fact(f) => f.rel.name.clone(),
            Clause::Rule(r) => r.head.rel.name.clone(),
        };
        loaded.program.clauses.iter().map(name).collect()
    }

    #[test]
    fn includes_splice_in_order_once_with_root_fallback() {
        let dir = tree(
            "splice",
            &[
                ("main.ded", "a(1)@1;\ninclude \"sub/x.ded\";\ninclude \"sub/x.ded\";\nd(1)@1;\n"),
                ("sub/x.ded", "b(1)@1;\ninclude \"common.ded\";\n"),
                ("common.ded", "// ldfi: eot=3\nc(1)@1;\n"),
            ],
        );
        let main = dir.join("main.ded");
        let loaded = load(&[&main]).map_err(|e| e.1).expect("loads");
        assert_eq!(rels(&loaded), ["a", "b", "c", "d"]);
        assert_eq!(loaded.sources.files.len(), 3);
        assert!(loaded.headers.is_empty(), "headers of included files are ignored");
        let loaded = load(&[&main, &dir.join("common.ded")]).map_err(|e| e.1).expect("loads");
        assert_eq!(rels(&loaded), ["a", "b", "c", "d"], "a file is loaded once");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn missing_and_cyclic_includes_name_the_chain() {
        let dir = tree(
            "chain",
            &[
                ("a.ded", "include \"b.ded\";\n"),
                ("b.ded", "x(1)@1;\ninclude \"c.ded\";\ninclude \"a.ded\";\n"),
            ],
        );
        let Err((_, diags)) = load(&[&dir.join("a.ded")]) else { panic!("must fail") };
        assert_eq!(diags.len(), 2, "{diags:#?}");
        assert!(diags.iter().all(|d| d.code == "include" && d.primary.is_some()));
        let a = dir.join("a.ded").display().to_string();
        let b = dir.join("b.ded").display().to_string();
        assert!(diags[0].notes[0].ends_with(&format!("{a}:1 → {b}:2 → c.ded")), "{diags:#?}");
        assert!(diags[1].message.starts_with("include cycle"));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn unreadable_inputs_are_diagnostics() {
        let Err((_, diags)) = load(&[Path::new("/no/such/dir/x.ded")]) else { panic!() };
        assert_eq!(diags[0].message, "cannot read `/no/such/dir/x.ded`: no such file");
        let dir = tree("bytes", &[("ok.ded", "")]);
        std::fs::write(dir.join("bad.ded"), b"p(1)@1;\xff\n").expect("write");
        let Err((_, diags)) = load(&[&dir.join("bad.ded")]) else { panic!() };
        assert!(diags[0].message.contains("not UTF-8"), "{diags:#?}");
        let Err((_, diags)) = load_str("s.ded", "include \"/\";") else { panic!() };
        assert!(diags[0].message.contains("it is a directory"), "{diags:#?}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// `include "/dev/zero";` used to read until memory ran out; a FIFO would block.
    #[cfg(unix)]
    #[test]
    fn special_files_are_refused_before_they_are_read() {
        let Err((_, diags)) = load(&[Path::new("/dev/zero")]) else { panic!("must fail") };
        assert_eq!(
            diags[0].message,
            "cannot read `/dev/zero`: not a regular file (it is a character device); \
             a spec must be a regular file"
        );
        let dir = tree("special", &[("main.ded", "p(1)@1;\ninclude \"sub.ded\";\n")]);
        std::fs::write(dir.join("sub.ded"), "include \"/dev/zero\";\n").expect("write");
        let Err((_, diags)) = load(&[&dir.join("main.ded")]) else { panic!("must fail") };
        assert!(diags[0].message.contains("character device"), "{diags:#?}");
        let main = dir.join("main.ded").display().to_string();
        let sub = dir.join("sub.ded").display().to_string();
        assert!(diags[0].notes[0].ends_with(&format!("{main}:2 → {sub}:1 → /dev/zero")));
        let fifo = dir.join("pipe.ded");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        if made.is_ok_and(|s| s.success()) {
            let Err((_, diags)) = load(&[&fifo]) else { panic!("must fail") };
            assert!(diags[0].message.contains("a FIFO"), "{diags:#?}");
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn oversized_specs_are_refused_with_the_include_chain() {
        let dir = tree("big", &[("main.ded", "include \"big.ded\";\n")]);
        let big = std::fs::File::create(dir.join("big.ded")).expect("create");
        big.set_len(super::MAX_SPEC_BYTES + 1).expect("sparse file");
        let Err((_, diags)) = load(&[&dir.join("main.ded")]) else { panic!("must fail") };
        let want =
            "it is too large (16777217 bytes; a spec file may be at most 16 MiB, 16777216 bytes)";
        assert!(diags[0].message.ends_with(want), "{diags:#?}");
        assert!(diags[0].notes[0].starts_with("include chain: "), "{diags:#?}");
        let Err((_, diags)) = load(&[&dir.join("big.ded")]) else { panic!("must fail") };
        assert!(diags[0].message.contains("too large"), "{diags:#?}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
