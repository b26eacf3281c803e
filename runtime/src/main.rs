//! The `runtime` binary: everything is in the library (lib.rs), so that the packaging's doc
//! generator sees the same command-line definition.

fn main() {
    runtime::main()
}
