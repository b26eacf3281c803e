//! spec-gen → runtime round trip: the busybox service description becomes a bundle, the
//! runtime runs it, its declared port serves, and an undeclared port is refused by Landlock.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use integration::*;

fn spec_gen_bin() -> PathBuf {
    let p = runtime_bin().with_file_name("spec-gen");
    if !p.is_file() {
        let ws = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        let st = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())).args(["build", "-p", "spec-gen"]).current_dir(ws).status().unwrap();
        assert!(st.success());
    }
    assert!(p.is_file(), "spec-gen binary not found beside {}", runtime_bin().display());
    p
}

fn spec_gen(args: &[&str]) -> std::process::Output {
    let out = Command::new(spec_gen_bin()).args(args).output().unwrap();
    assert!(out.status.success(), "spec-gen {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    out
}

fn http_get(port: u16) -> std::io::Result<String> {
    let mut s = TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), Duration::from_secs(2))?;
    s.set_read_timeout(Some(Duration::from_secs(5)))?;
    s.write_all(b"GET /index.html HTTP/1.0\r\nHost: x\r\n\r\n")?;
    let mut body = String::new();
    s.read_to_string(&mut body)?;
    Ok(body)
}

#[test]
fn generated_busybox_service_serves_its_port_and_nothing_else() {
    let ctx = Ctx::new("specgen_rt");
    let ws = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let src = ws.join("bundles/busybox");
    let svc_dir = ctx.dir("svc");
    // Ports of our own, so parallel runs and other services on the machine do not collide.
    let port = 20000 + (std::process::id() % 10000) as u16;
    let other = port + 1;
    let toml = std::fs::read_to_string(src.join("service.toml")).unwrap().replace("8080", &port.to_string());
    std::fs::write(svc_dir.join("service.toml"), toml).unwrap();
    std::fs::create_dir_all(svc_dir.join("www")).unwrap();
    std::fs::write(svc_dir.join("www/index.html"), "hello from the generated bundle\n").unwrap();
    let svc = svc_dir.join("service.toml");
    let svc = svc.to_str().unwrap();
    spec_gen(&["rootfs", svc, "--output", svc_dir.join("rootfs").to_str().unwrap()]);
    std::fs::copy(probe_host_path(), svc_dir.join("rootfs/probe")).unwrap();
    let bundle = ctx.dir("bundle");
    spec_gen(&["bundle", svc, "--output", bundle.to_str().unwrap()]);

    // The harness owns cgroup paths: move the service's cgroup under the test prefix.
    let cfg_path = bundle.join("config.json");
    let mut cfg: Value = serde_json::from_str(&std::fs::read_to_string(&cfg_path).unwrap()).unwrap();
    let id = ctx.next_id();
    cfg["linux"]["cgroupsPath"] = json!(ctx.cgroup_path(&id));
    assert!(cfg["linux"]["seccomp"].is_object(), "the default seccomp profile is embedded");
    assert_eq!(cfg["annotations"]["org.ocirt.landlock.net.bind"], json!(format!("[{port}]")));
    std::fs::write(&cfg_path, serde_json::to_string_pretty(&cfg).unwrap()).unwrap();

    ctx.track(&id);
    ctx.rt(&["run", "-d", "--bundle", bundle.to_str().unwrap(), &id]).expect_ok("run -d the generated bundle");
    let body = wait_until(Duration::from_secs(10), "httpd answers on its declared port", || http_get(port).ok());
    assert!(body.contains("200") && body.contains("hello from the generated bundle"), "{body}");

    // Inside the same container, under the same Landlock policy: binding the declared port
    // again fails only because it is taken (EADDRINUSE) — the policy allows it — while an
    // undeclared port is refused by Landlock (EACCES).
    let declared = ctx.rt(&["exec", &id, "/probe", "bind", &port.to_string()]);
    assert!(declared.out().contains("EADDRINUSE"), "declared port: {}", declared.out());
    let undeclared = ctx.rt(&["exec", &id, "/probe", "bind", &other.to_string()]);
    assert!(undeclared.out().contains("EACCES"), "undeclared port: {}", undeclared.out());
    // And connecting out is not declared at all: refused, although the port is listening.
    let conn = ctx.rt(&["exec", &id, "/probe", "connect", "127.0.0.1", &port.to_string()]);
    assert!(conn.out().contains("EACCES"), "connect: {}", conn.out());

    ctx.rt(&["kill", &id, "KILL"]).expect_ok("kill");
    ctx.rt(&["delete", "--force", &id]).expect_ok("delete");
}
