//! The gazette binary.
fn main() {}
