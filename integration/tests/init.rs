//! The optional minimal init (annotation org.ocirt.init): a program that is not written to
//! be PID 1 still stops on SIGTERM, and orphans are reaped.

use std::time::Duration;

use integration::*;

fn start(ctx: &Ctx, b: &mut Bundle, init: bool, script: &str) -> String {
    b.sh(script);
    if init {
        b.set("annotations", json!({"org.ocirt.init": "true"}));
    }
    let id = ctx.next_id();
    ctx.run_detached(b, &id);
    id
}

#[test]
fn sigterm_reaches_a_program_that_is_not_pid_1() {
    let ctx = Ctx::new("init_term");
    // With the init: the shell is PID 2 and SIGTERM's default action ends it.
    let mut b = ctx.bundle("with");
    let id = start(&ctx, &mut b, true, "sleep 60");
    ctx.kill(&id, "TERM").expect_ok("kill TERM");
    ctx.wait_for_status(&id, "stopped", Duration::from_secs(5));
    ctx.delete(&id, false).expect_ok("delete");

    // Control: without it the shell is PID 1 and the kernel drops the unhandled SIGTERM.
    let mut b = ctx.bundle("without");
    let id = start(&ctx, &mut b, false, "sleep 60");
    ctx.kill(&id, "TERM").expect_ok("kill TERM");
    std::thread::sleep(Duration::from_millis(700));
    assert_eq!(ctx.status(&id), "running", "PID 1 ignores SIGTERM without a handler");
    ctx.delete(&id, true).expect_ok("delete --force");
}

#[test]
fn exit_status_passes_through_and_orphans_are_reaped() {
    let ctx = Ctx::new("init_reap");
    let mut b = ctx.bundle("b");
    b.set("annotations", json!({"org.ocirt.init": "true"}));
    // An orphan (the inner shell exits at once, its sleep is re-parented to PID 1) must be
    // reaped: no zombie left once it has exited.
    let o = ctx.sh(&mut b, "sh -c 'sleep 0.2 &'; sleep 0.8; grep -l '^[0-9]* ([a-z]*) Z' /proc/[0-9]*/stat; echo pid1=$(cut -d' ' -f2 /proc/1/stat); exit 5");
    o.expect_code(5, "the program's exit status");
    assert_eq!(o.out(), "pid1=(runtime)", "no zombie, and PID 1 is the init: {}", o.out());
}
