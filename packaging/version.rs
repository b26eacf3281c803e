// Shared by runtime/build.rs and spec-gen/build.rs (include!): sets OCIRT_VERSION to
// "<crate version> (commit <hash>[-dirty])" so that `--version` says which commit a binary,
// and the Debian package built from it, came from. OCIRT_COMMIT overrides git (a build from a
// source tarball has no .git); without either the commit is "unknown".

fn ocirt_version() {
    println!("cargo:rerun-if-env-changed=OCIRT_COMMIT");
    let dir = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default();
    let git = |args: &[&str]| {
        std::process::Command::new("git")
            .args(args)
            .current_dir(&dir)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    let commit = std::env::var("OCIRT_COMMIT")
        .ok()
        .filter(|c| !c.is_empty())
        .or_else(|| git(&["describe", "--always", "--dirty", "--abbrev=12", "--exclude=*"]))
        .unwrap_or_else(|| "unknown".into());
    if let Some(head) = git(&["rev-parse", "--git-path", "HEAD"]) {
        println!("cargo:rerun-if-changed={dir}/{head}");
    }
    if let Some(refs) = git(&["rev-parse", "--git-path", "refs/heads"]) {
        println!("cargo:rerun-if-changed={dir}/{refs}");
    }
    let version = std::env::var("CARGO_PKG_VERSION").unwrap_or_default();
    println!("cargo:rustc-env=OCIRT_VERSION={version} (commit {commit})");
}
