//! Robustness of the front end: random and mutated inputs through `load_str` + `analyze`.
//!
//! With a fixed seed (reproducible), it feeds well over 100k random token streams drawn
//! from the language's vocabulary, plus byte- and token-level mutations (delete, duplicate,
//! swap, insert) of every `specs/**/*.ded`, every `tests/broken/*.ded` and a few embedded
//! programs. The front end must never panic or hang, and every rejected input must carry
//! at least one error diagnostic whose span lies inside its file. A sample of the
//! diagnostics is also rendered, so that the renderer sees odd spans too.
//!
//! Beyond the front end, the whole binary runs as a subprocess (under a 1 GiB address-space
//! limit and a wall-clock limit) on a corpus of mutated specs, generated wide specs (very
//! long identifiers, hundreds of nodes), includes of special files and the regression files
//! under `tests/data/panics`, with `lint`, `run` and `check` at bounded settings: no case may
//! panic, hang, be killed or exit with a code outside 0..=3.

use ldfi::diag::{render_all, Diagnostic};
use ldfi::syntax::{self, SourceMap};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const SEED: u64 = 0x1df1_5eed;
const RANDOM_STREAMS: usize = 100_000;
const MUTATIONS_PER_SAMPLE: usize = 600;

/// The language's tokens (and a few things that are not tokens at all).
const VOCAB: &[&str] = &[
    "p",
    "q",
    "log",
    "member",
    "N",
    "M",
    "X",
    "T",
    "_",
    "count",
    "sum",
    "min",
    "max",
    "next",
    "async",
    "notin",
    "include",
    "crash",
    "clock",
    "pre",
    "post",
    "\"a\"",
    "\"n1\"",
    "\"x\\\"y\"",
    "\"\"",
    "0",
    "1",
    "3",
    "9223372036854775807",
    "99999999999999999999",
    "(",
    ")",
    ",",
    ";",
    ":-",
    "@",
    "<",
    ">",
    "<=",
    ">=",
    "==",
    "!=",
    "+",
    "-",
    "*",
    "/",
    "%",
    "// c\n",
    "/* c */",
    "/*",
    "\"open",
    "\n",
    " ",
    "\t",
    "#",
    "é",
    "=",
    ":",
    "\\",
    "\"\\q\"",
    "\0",
];

/// Small programs in the spirit of LANGUAGE.md and Molly's specs.
const SAMPLES: &[&str] = &[
    r#"// ldfi: eot=4 eff=2 crashes=0 expect=counterexample
peer("s", "r1")@1;  peer("s", "r2")@1;
send("s", "hello")@1;
peer(N, P)@next :- peer(N, P);
got(N, M)@next :- got(N, M);
got(N, M) :- send(N, M);
got(P, M)@async :- send(N, M), peer(N, P);
missed(P, M) :- got(N, M), peer(N, P), notin got(P, M);
pre(N, M) :- got(N, M), notin send(N, M)@1, notin crash(N, N, _);
post(N, M) :- got(N, M), notin missed(_, M);
"#,
    r#"node("a", "b")@1; node("a", "c")@1; vote("b", "a", 1)@2;
cnt(N, count<I>) :- vote(N, I, _);
total(N, sum<V>) :- vote(N, _, V);
ack(S, N, T-1)@async :- vote(N, S, T), T > 1;
maj(N) :- cnt(N, Cnt2), total(N, Cnt1), Cnt2 > Cnt1 / 2, (Cnt1 + 1) * -2 % 3 != 0;
lo(N, min<V>) :- vote(N, _, V); hi(N, max<V>) :- vote(N, _, V);
"#,
    r#"/* block */ commit(C, X)@async :- coord(C), agent(C, X), notin abort(C)@1;
timer(N, T+1)@next :- timer(N, T), T < 10, notin crash(X, X, _);
z() :- q(-1, "s\\t", _);
"#,
    "include \"nonexistent.ded\";\nlog(N, M)@next :- log(N, M);\n",
];

fn span_ok(sources: &SourceMap, d: &Diagnostic) -> bool {
    let spans = d.primary.iter().map(|p| p.0).chain(d.secondary.iter().map(|s| s.0));
    spans.into_iter().all(|s| {
        sources
            .files
            .get(s.file.0 as usize)
            .is_some_and(|f| s.start <= s.end && s.end as usize <= f.text.len())
    })
}

fn has_located_error(diags: &[Diagnostic]) -> bool {
    diags.iter().any(|d| d.is_error() && d.primary.is_some())
}

/// Run the front end on one input and check the invariants.
fn check_one(text: &str, render: bool) {
    let outcome = std::panic::catch_unwind(|| {
        let (sources, diags) = match syntax::load_str("fuzz.ded", text) {
            Err((sources, diags)) => {
                assert!(has_located_error(&diags), "rejected without a located error: {diags:#?}");
                (sources, diags)
            }
            Ok(loaded) => {
                let diags = ldfi::analysis::analyze(&loaded.program).diagnostics;
                if diags.iter().any(Diagnostic::is_error) {
                    assert!(has_located_error(&diags), "rejected without a located error");
                }
                (loaded.sources, diags)
            }
        };
        for d in &diags {
            assert!(span_ok(&sources, d), "span out of its file: {d:#?}");
        }
        if render && !diags.is_empty() {
            let _ = render_all(&diags, &sources, false);
        }
    });
    if outcome.is_err() {
        panic!("front end failed on input {text:?}");
    }
}

fn random_stream(rng: &mut ChaCha8Rng) -> String {
    let len = rng.gen_range(0..40);
    let mut out = String::new();
    for _ in 0..len {
        out.push_str(VOCAB.choose(rng).copied().unwrap_or(" "));
        if rng.gen_bool(0.5) {
            out.push(' ');
        }
    }
    out
}

fn var(rng: &mut ChaCha8Rng) -> String {
    ["N", "M", "X", "_", "T", "\"a\"", "1", "T-1", "(X+2)*3"]
        .choose(rng)
        .copied()
        .unwrap_or("N")
        .to_owned()
}

fn atom(rng: &mut ChaCha8Rng, head: bool) -> String {
    let rel = ["p", "q", "log", "crash", "pre", "post"].choose(rng).copied().unwrap_or("p");
    let n = rng.gen_range(0..4);
    let args: Vec<String> = (0..n)
        .map(|_| if head && rng.gen_bool(0.2) { "count<X>".to_owned() } else { var(rng) })
        .collect();
    format!("{rel}({})", args.join(", "))
}

/// A clause-shaped stream: mostly well formed, so that the parser gets deep.
fn random_clauses(rng: &mut ChaCha8Rng) -> String {
    let mut out = String::new();
    for _ in 0..rng.gen_range(1..6) {
        let head = atom(rng, true);
        let ann = ["", "@next", "@async", "@1", "@T"].choose(rng).copied().unwrap_or("");
        if rng.gen_bool(0.3) {
            out.push_str(&format!("{head}{ann};\n"));
            continue;
        }
        let body: Vec<String> = (0..rng.gen_range(1..4))
            .map(|_| match rng.gen_range(0..4) {
                0 => format!("notin {}", atom(rng, false)),
                1 => format!("{} > {}", var(rng), var(rng)),
                2 => format!("{}@{}", atom(rng, false), rng.gen_range(0..3)),
                _ => atom(rng, false),
            })
            .collect();
        out.push_str(&format!("{head}{ann} :- {};\n", body.join(", ")));
    }
    if rng.gen_bool(0.5) {
        let at = rng.gen_range(0..=out.len());
        let at = (0..=at).rev().find(|i| out.is_char_boundary(*i)).unwrap_or(0);
        out.insert_str(at, VOCAB.choose(rng).copied().unwrap_or(" "));
    }
    out
}

fn mutate_bytes(rng: &mut ChaCha8Rng, text: &str) -> String {
    let mut bytes = text.as_bytes().to_vec();
    for _ in 0..rng.gen_range(1..4) {
        let len = bytes.len();
        let i = rng.gen_range(0..=len);
        match rng.gen_range(0..4) {
            0 if i < len => {
                bytes.remove(i);
            }
            1 if i < len => {
                let j = rng.gen_range(i..len.min(i + 16) + 1).min(len);
                let chunk = bytes[i..j].to_vec();
                bytes.splice(i..i, chunk);
            }
            2 if len > 1 => {
                let j = rng.gen_range(0..len);
                bytes.swap(i.min(len - 1), j);
            }
            _ => {
                let b = *b"();,@<>:-_\"/*\\\n0aZ".choose(rng).unwrap_or(&b' ');
                bytes.insert(i, b);
            }
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Split a text into token-sized pieces (each with the blanks before it).
fn pieces(text: &str) -> Vec<String> {
    let lexed = syntax::lexer::lex(ldfi::syntax::ast::FileId(0), text);
    let mut out = Vec::new();
    let mut prev = 0;
    for (_, _, end) in &lexed.tokens {
        out.push(text.get(prev..*end).unwrap_or("").to_owned());
        prev = *end;
    }
    out.push(text.get(prev..).unwrap_or("").to_owned());
    out
}

fn mutate_tokens(rng: &mut ChaCha8Rng, pieces: &[String]) -> String {
    let mut p = pieces.to_vec();
    for _ in 0..rng.gen_range(1..4) {
        let len = p.len();
        let i = rng.gen_range(0..len.max(1));
        match rng.gen_range(0..4) {
            0 if len > 0 => {
                p.remove(i);
            }
            1 if len > 0 => {
                let t = p[i].clone();
                p.insert(i, t);
            }
            2 if len > 1 => {
                let j = rng.gen_range(0..len);
                p.swap(i, j);
            }
            _ => p.insert(i.min(len), format!(" {}", VOCAB.choose(rng).copied().unwrap_or(" "))),
        }
    }
    p.concat()
}

/// Every `.ded` under `dir`, recursively, sorted.
fn ded_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for p in paths {
        if p.is_dir() {
            ded_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "ded") {
            out.push(p);
        }
    }
}

fn samples() -> Vec<String> {
    let mut files = Vec::new();
    ded_files(Path::new("specs"), &mut files);
    ded_files(Path::new("tests/broken"), &mut files);
    let mut out: Vec<String> = SAMPLES.iter().map(|s| (*s).to_owned()).collect();
    out.extend(files.iter().filter_map(|f| std::fs::read_to_string(f).ok()));
    out
}

#[test]
fn embedded_samples_are_accepted() {
    for sample in &SAMPLES[..3] {
        if let Err((sources, diags)) = syntax::load_str("sample.ded", sample) {
            panic!("{}", render_all(&diags, &sources, false));
        }
    }
}

#[test]
fn random_token_streams_never_break_the_front_end() {
    let mut rng = ChaCha8Rng::seed_from_u64(SEED);
    for i in 0..RANDOM_STREAMS {
        let text = if i % 2 == 0 { random_stream(&mut rng) } else { random_clauses(&mut rng) };
        check_one(&text, i % 64 == 0);
    }
}

#[test]
fn mutated_specs_never_break_the_front_end() {
    let mut rng = ChaCha8Rng::seed_from_u64(SEED ^ 0xabcdef);
    for sample in samples() {
        let p = pieces(&sample);
        check_one(&sample, true);
        for i in 0..MUTATIONS_PER_SAMPLE {
            let text = if i % 2 == 0 {
                mutate_bytes(&mut rng, &sample)
            } else {
                mutate_tokens(&mut rng, &p)
            };
            check_one(&text, i % 32 == 0);
        }
    }
}

/// The renderer must cope with any span a buggy stage could produce: reversed, past the
/// end, inside a multi-byte character, across lines, in an unknown file.
#[test]
fn rendering_never_panics_on_odd_spans() {
    use ldfi::syntax::ast::{FileId, Span};
    use ldfi::syntax::SourceFile;
    let mut rng = ChaCha8Rng::seed_from_u64(SEED ^ 0x5ba);
    let alphabet = ["a", "é", "\n", "\r\n", "\t", " ", "€", "(", "\u{2028}", ""];
    for i in 0..20_000 {
        let text: String =
            (0..rng.gen_range(0..30)).filter_map(|_| alphabet.choose(&mut rng).copied()).collect();
        let file = SourceFile { name: format!("f{i}.ded"), path: None, text, included_from: None };
        let sources = SourceMap { files: vec![file.clone(), file] };
        let mut span = || {
            let f = FileId(rng.gen_range(0..3));
            Span { file: f, start: rng.gen_range(0..40), end: rng.gen_range(0..40) }
        };
        let d = Diagnostic::error("fuzz", "odd spans")
            .at(span(), "primary")
            .also(span(), "secondary")
            .also(span(), "another")
            .note("a note")
            .hint("a hint");
        let color = i % 2 == 0;
        let out = match std::panic::catch_unwind(|| {
            render_all(std::slice::from_ref(&d), &sources, color)
        }) {
            Ok(out) => out,
            Err(_) => panic!("render failed on {:?} with {d:?}", sources.files[0].text),
        };
        assert!(color || out.starts_with("error[fuzz]: odd spans\n"), "{out}");
    }
}

// ---- the binary on hostile inputs -------------------------------------------------------

/// Address-space limit of each subprocess (KiB for `ulimit -v`): 1 GiB.
const MEMORY_KIB: u64 = 1 << 20;
/// Wall-clock limit of each subprocess.
const WALL: Duration = Duration::from_secs(30);
/// Mutations of each spec run through the binary (each with `lint`, `run` and `check`).
const CLI_MUTATIONS_PER_SAMPLE: usize = 6;

/// How one subprocess ended.
struct Ended {
    code: Option<i32>,
    stdout: String,
    stderr: String,
    elapsed: Duration,
}

/// Run `ldfi ARGS` under the memory and time limits, output into files in `dir`.
fn ldfi_limited(dir: &Path, tag: &str, args: &[&str]) -> Ended {
    let (out, err) = (dir.join(format!("{tag}.out")), dir.join(format!("{tag}.err")));
    let file = |p: &Path| std::fs::File::create(p).expect("scratch file");
    let script = format!("ulimit -v {MEMORY_KIB} && exec \"$0\" \"$@\"");
    let started = Instant::now();
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(script)
        .arg(env!("CARGO_BIN_EXE_ldfi"))
        .args(args)
        .env("RUST_BACKTRACE", "0")
        .stdin(Stdio::null())
        .stdout(file(&out))
        .stderr(file(&err))
        .spawn()
        .expect("spawn ldfi");
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break Some(status);
        }
        if started.elapsed() > WALL {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    let read =
        |p: &Path| String::from_utf8_lossy(&std::fs::read(p).unwrap_or_default()).into_owned();
    Ended {
        code: status.and_then(|s| s.code()),
        stdout: read(&out),
        stderr: read(&err),
        elapsed: started.elapsed(),
    }
}

/// A problem with one run of the binary, or `None` when it ended properly.
fn misbehaviour(e: &Ended) -> Option<String> {
    if e.elapsed > WALL {
        return Some(format!("did not finish within {WALL:?} (killed)"));
    }
    if e.stderr.contains("panicked") {
        return Some(format!(
            "panicked: {}",
            e.stderr.lines().take(3).collect::<Vec<_>>().join(" | ")
        ));
    }
    if e.stderr.contains("out of memory") || e.stderr.contains("memory allocation") {
        return Some("ran out of its 1 GiB of address space".to_string());
    }
    match e.code {
        Some(0..=3) => None,
        Some(c) => Some(format!("exit code {c}: {}", e.stderr.lines().last().unwrap_or(""))),
        None => Some("killed by a signal (out of memory?)".to_string()),
    }
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ldfi-fuzz-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

/// A broadcast from `s` to `n` receivers with an invariant (every receiver logs `m`).
fn wide_broadcast(n: usize, name_len: usize) -> String {
    let mut out = String::new();
    let pad = "x".repeat(name_len);
    for i in 0..n {
        out.push_str(&format!("member(\"s\", \"r{i}{pad}\")@1;\n"));
    }
    out.push_str(
        "bcast(\"s\", \"m\")@1;\nmember(N, P)@next :- member(N, P);\nbcast(N, M)@next :- bcast(N, M);\n\
         log(P, M)@async :- bcast(N, M), member(N, P);\nlog(N, M)@next :- log(N, M);\n\
         pre(P, M) :- member(_, P), bcast(_, M), notin crash(P, P, _);\npost(P, M) :- log(P, M);\n",
    );
    out
}

/// Generated hostile specs: long identifiers everywhere, many nodes, special-file includes.
fn hostile_specs() -> Vec<(String, String)> {
    let long = "a".repeat(65_536);
    let mut out = vec![
        ("wide_300".to_string(), wide_broadcast(300, 0)),
        ("wide_40_long_names".to_string(), wide_broadcast(40, 2_000)),
        ("long_node".to_string(), format!("n(\"{long}\", 1)@1;\nn(N, X)@next :- n(N, X);\npre(N, X) :- n(N, X);\npost(N, X) :- n(N, X), X > 1;\n")),
        ("long_relation".to_string(), format!("{long}(\"a\")@1;\npre(N) :- {long}(N);\npost(N) :- {long}(N);\n")),
        ("long_variable".to_string(), format!("p(\"a\", 1)@1;\nq(N, V{long})@async :- p(N, V{long});\npre(N) :- p(N, _);\npost(N) :- q(N, _);\n")),
        ("long_string_payload".to_string(), format!("p(\"a\", \"b\", \"{long}\")@1;\nq(B, X)@async :- p(A, B, X);\npre(B) :- p(_, B, _);\npost(B) :- q(B, _);\n")),
    ];
    for special in ["/dev/zero", "/dev/urandom", "/dev/null", "/", "/proc/self/mem"] {
        out.push((
            format!("include_{}", special.replace('/', "_")),
            format!("include \"{special}\";\np(\"a\")@1;\n"),
        ));
    }
    out
}

/// Every case of the subprocess corpus: (name, spec text).
fn cli_corpus() -> Vec<(String, String)> {
    let mut out = hostile_specs();
    let mut regressions = Vec::new();
    ded_files(Path::new("tests/data/panics"), &mut regressions);
    assert!(regressions.len() >= 2, "the regression files are in tests/data/panics");
    for f in &regressions {
        let text = std::fs::read_to_string(f).expect("regression file");
        out.push((
            format!("regression_{}", f.file_stem().unwrap_or_default().to_string_lossy()),
            text,
        ));
    }
    let mut files = Vec::new();
    ded_files(Path::new("specs"), &mut files);
    let mut rng = ChaCha8Rng::seed_from_u64(SEED ^ 0xc11);
    for f in &files {
        let Ok(sample) = std::fs::read_to_string(f) else { continue };
        let p = pieces(&sample);
        let stem = f.file_stem().unwrap_or_default().to_string_lossy().into_owned();
        for i in 0..CLI_MUTATIONS_PER_SAMPLE {
            let text = if i % 2 == 0 {
                mutate_bytes(&mut rng, &sample)
            } else {
                mutate_tokens(&mut rng, &p)
            };
            out.push((format!("{stem}_m{i}"), text));
        }
    }
    out
}

/// The commands each corpus case runs: lint, a run and a bounded search, with reports.
fn commands(spec: &str, dir: &str) -> Vec<Vec<String>> {
    let own = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    vec![
        own(&["lint", spec]),
        own(&[
            "run",
            spec,
            "-t",
            "3",
            "--tuple-cap",
            "200000",
            "--report",
            &format!("{dir}/run-report"),
            "--dot",
            &format!("{dir}/run-dot"),
        ]),
        own(&[
            "check",
            spec,
            "-t",
            "3",
            "-f",
            "2",
            "--max-runs",
            "12",
            "--timeout",
            "5",
            "--tuple-cap",
            "200000",
            "--report",
            &format!("{dir}/check-report"),
        ]),
    ]
}

/// Items 2-4 of issue 11: nothing in the corpus panics, hangs or needs more than 1 GiB.
#[cfg(unix)]
#[test]
fn the_binary_survives_mutated_wide_and_special_inputs() {
    let root = scratch("cli");
    let corpus = cli_corpus();
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get()).min(4);
    let failures = std::sync::Mutex::new(Vec::new());
    let next = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some((name, text)) = corpus.get(i) else { break };
                let dir = root.join(format!("case-{i}"));
                std::fs::create_dir_all(&dir).expect("case dir");
                let spec = dir.join(format!("{name}.ded"));
                std::fs::write(&spec, text).expect("write spec");
                let spec = spec.display().to_string();
                for (k, args) in commands(&spec, &dir.display().to_string()).iter().enumerate() {
                    let args: Vec<&str> = args.iter().map(String::as_str).collect();
                    let ended = ldfi_limited(&dir, &format!("cmd{k}"), &args);
                    if let Some(why) = misbehaviour(&ended) {
                        failures
                            .lock()
                            .expect("lock")
                            .push(format!("{name}: ldfi {}: {why}", args[0]));
                    }
                }
                let _ = std::fs::remove_dir_all(&dir);
            });
        }
    });
    let failures = failures.into_inner().expect("lock");
    let _ = std::fs::remove_dir_all(&root);
    assert!(
        failures.is_empty(),
        "{} of {} cases misbehaved:\n{}",
        failures.len(),
        corpus.len(),
        failures.join("\n")
    );
}

/// `include "/dev/zero";` used to grow past 2 GB; now it is refused with the include chain.
#[cfg(unix)]
#[test]
fn special_file_includes_are_refused_quickly() {
    let dir = scratch("special");
    let spec = dir.join("zero.ded");
    std::fs::write(&spec, "p(\"a\")@1;\ninclude \"/dev/zero\";\n").expect("write");
    let ended = ldfi_limited(&dir, "lint", &["lint", &spec.display().to_string()]);
    assert_eq!(ended.code, Some(2), "{}", ended.stderr);
    assert!(
        ended.stderr.contains("cannot read `/dev/zero`: not a regular file"),
        "{}",
        ended.stderr
    );
    assert!(ended.stderr.contains("include chain: "), "{}", ended.stderr);
    let ended = ldfi_limited(&dir, "top", &["lint", "/dev/zero"]);
    assert_eq!(ended.code, Some(2), "{}", ended.stderr);
    let _ = std::fs::remove_dir_all(&dir);
}

/// The regression files used to panic the terminal diagram; now every output stays bounded:
/// diagram lines, SVG lanes and width, DOT size.
#[cfg(unix)]
#[test]
fn wide_regressions_give_bounded_diagrams() {
    let dir = scratch("bounded");
    for name in ["long_node_name", "wide_broadcast"] {
        let spec = format!("tests/data/panics/{name}.ded");
        let (report, dot) = (dir.join(format!("{name}-report")), dir.join(format!("{name}-dot")));
        let args = [
            "run",
            &spec,
            "-t",
            "3",
            "--report",
            &report.display().to_string(),
            "--dot",
            &dot.display().to_string(),
        ];
        let ended = ldfi_limited(&dir, name, &args);
        assert_eq!(misbehaviour(&ended), None, "{name}");
        let diagram: Vec<&str> =
            ended.stdout.lines().skip_while(|l| !l.starts_with("── messages")).collect();
        assert!(diagram.len() > 4, "{name}: a diagram is printed");
        for line in &diagram {
            assert!(
                line.chars().count() < 400,
                "{name}: diagram line of {} chars",
                line.chars().count()
            );
        }
        let page = std::fs::read_to_string(report.join("run-0.html")).expect("run page");
        let start = page.find("class=\"spacetime\"").expect("an SVG diagram");
        let svg = &page[start..start + page[start..].find("</svg>").expect("svg ends")];
        assert!(svg.matches("<g class=\"lane-head").count() <= 16, "{name}: too many lanes");
        let width: f64 = svg
            .split("width=\"")
            .nth(1)
            .and_then(|w| w.split('"').next())
            .and_then(|w| w.parse().ok())
            .expect("svg width");
        assert!(width < 6000.0, "{name}: SVG {width}px wide");
        let st = std::fs::metadata(dot.join("run-0-spacetime.dot")).expect("dot file").len();
        assert!(st < 200_000, "{name}: DOT space-time file of {st} bytes");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn generated_wide_specs_never_break_the_front_end() {
    for (_, text) in hostile_specs() {
        check_one(&text, true);
    }
}
