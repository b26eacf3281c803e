//! The `runtime` binary: everything is in the library (lib.rs), so that the packaging's doc
//! generator sees the same command-line definition.

fn main() {
    runtime::main()
}

/// Blocks signals before main: the Rust runtime's own start-up (and a large binary's first
/// page faults) is the widest window the process itself can close. Only the exec and the
/// dynamic loader remain; a signal there ends the runtime before it has made anything.
/// main() puts the original mask back for verbs that create nothing (signals.rs).
#[used]
#[unsafe(link_section = ".init_array")]
static BLOCK_SIGNALS_BEFORE_MAIN: extern "C" fn() = {
    extern "C" fn block() {
        runtime::block_signals_before_main();
    }
    block
};
