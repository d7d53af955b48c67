fn main() {
    println!("ldfi: under construction");
}
