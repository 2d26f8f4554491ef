fn main() {
    println!("commentguard");
}
