//! Units ordered after others: `lifecycle.after` and `lifecycle.requires` become `After=`
//! and `Requires=`, as MediaWiki's unit needs for its MariaDB (scripts/mediawiki.sh --db
//! mariadb writes them into the wiki's description). Both units pass `systemd-analyze
//! verify` side by side, and the wiki's fails without the database's (so the dependency is
//! really there); a name that is not a unit is refused with the field named.

mod common;

use common::*;
use std::path::{Path, PathBuf};
use std::process::Command;

/// bundles/mediawiki/service.toml as the script turns it for MariaDB, in `dir`.
fn wiki_with(dir: &Path, deps: &str) -> PathBuf {
    let src = std::fs::read_to_string(manifest_dir().join("../bundles/mediawiki/service.toml")).unwrap();
    assert!(src.contains("\n[lifecycle]\n"), "bundles/mediawiki/service.toml has no [lifecycle] table");
    let text = src.replace("\n[lifecycle]\n", &format!("\n[lifecycle]\n{deps}\n"));
    let p = dir.join("service.toml");
    std::fs::write(&p, text).unwrap();
    p
}

fn unit_lines(text: &str, key: &str) -> Vec<String> {
    text.lines().filter_map(|l| l.strip_prefix(&format!("{key}="))).map(str::to_string).collect()
}

#[test]
fn wiki_unit_starts_after_and_requires_the_database() {
    let t = tempfile::tempdir().unwrap();
    let wiki = wiki_with(t.path(), "after = [\"mariadb.service\"]\nrequires = [\"mariadb.service\"]");
    let runtime = env!("CARGO_BIN_EXE_spec-gen");
    let o = ok(&["unit", wiki.to_str().unwrap(), "--bundle", "/var/lib/ocirt/mediawiki/bundle", "--runtime", runtime]);
    let text = stdout(&o);
    assert_eq!(unit_lines(&text, "After"), ["network.target", "mariadb.service"], "{text}");
    assert_eq!(unit_lines(&text, "Requires"), ["mariadb.service"], "{text}");

    // Without the keys (SQLite, the default): no dependency at all.
    let plain = ok(&["unit", manifest_dir().join("../bundles/mediawiki/service.toml").to_str().unwrap(), "--bundle", "/b"]);
    assert_eq!(unit_lines(&stdout(&plain), "After"), ["network.target"]);
    assert!(unit_lines(&stdout(&plain), "Requires").is_empty());

    let db = ok(&[
        "unit",
        manifest_dir().join("../bundles/mariadb/service.toml").to_str().unwrap(),
        "--bundle",
        "/var/lib/ocirt/mediawiki/db/bundle",
        "--runtime",
        runtime,
    ]);
    let db_text = stdout(&db);
    assert!(db_text.contains("ExecStart=") && db_text.contains(" run --bundle /var/lib/ocirt/mediawiki/db/bundle mariadb\n"), "{db_text}");
    assert!(db_text.contains("TimeoutStopSec=60\n"), "{db_text}");

    let Some(sa) = ["/usr/bin/systemd-analyze", "/bin/systemd-analyze"].into_iter().find(|p| Path::new(p).exists()) else {
        assert!(std::env::var_os("OCIRT_REQUIRE_ALL").is_none(), "OCIRT_REQUIRE_ALL is set but systemd-analyze is not installed");
        eprintln!("NOTICE: systemd-analyze is not installed; skipping unit verification (apt-get install systemd)");
        return;
    };
    let units = tempfile::tempdir().unwrap();
    std::fs::write(units.path().join("mediawiki.service"), &text).unwrap();
    let verify = || Command::new(sa).args(["verify", "mediawiki.service"]).current_dir(units.path()).output().unwrap();
    // Negative first: the required unit is missing, and verify says so.
    let missing = verify();
    assert!(
        !missing.status.success() && String::from_utf8_lossy(&missing.stderr).contains("mariadb.service not found"),
        "systemd-analyze should refuse a wiki whose database unit is missing:\n{}",
        String::from_utf8_lossy(&missing.stderr)
    );
    // Positive: with the database's unit beside it, both verify clean.
    std::fs::write(units.path().join("mariadb.service"), &db_text).unwrap();
    let o = verify();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success() && !err.contains("mediawiki") && !err.contains("mariadb"), "systemd-analyze verify failed ({}):\n{err}", o.status);
    let o = Command::new(sa).args(["verify", "mariadb.service"]).current_dir(units.path()).output().unwrap();
    assert!(o.status.success(), "systemd-analyze verify mariadb.service:\n{}", String::from_utf8_lossy(&o.stderr));
}

#[test]
fn instance_dependencies_follow_the_instance() {
    let t = tempfile::tempdir().unwrap();
    let wiki = wiki_with(t.path(), "after = [\"mariadb@{instance}.service\"]\nrequires = [\"mariadb@{instance}.service\"]");
    let w = wiki.to_str().unwrap();
    let one = stdout(&ok(&["unit", w, "--instance", "blue", "--bundle", "/b/blue"]));
    assert_eq!(unit_lines(&one, "Requires"), ["mariadb@blue.service"], "{one}");
    assert_eq!(unit_lines(&one, "After"), ["network.target", "mariadb@blue.service"], "{one}");
    let template = stdout(&ok(&["unit", w, "--template", "--bundle", "/b/%i"]));
    assert_eq!(unit_lines(&template, "Requires"), ["mariadb@%i.service"], "{template}");
    assert_eq!(unit_lines(&template, "After"), ["network.target", "mariadb@%i.service"], "{template}");
}

#[test]
fn a_dependency_that_is_not_a_unit_is_refused() {
    for (deps, field, name) in [
        ("after = [\"mariadb\"]", "after", "mariadb"),
        ("requires = [\"maria db.service\"]", "requires", "maria db.service"),
        ("after = [\"db-%n.service\"]", "after", "db-%n.service"),
        ("requires = [\".service\"]", "requires", ".service"),
    ] {
        let t = tempfile::tempdir().unwrap();
        let wiki = wiki_with(t.path(), deps);
        let o = run(&["unit", wiki.to_str().unwrap(), "--bundle", "/b"]);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(1), "{deps}: {err}");
        assert!(err.contains(&format!("field `lifecycle.{field}`: `{name}` is not a systemd unit name")), "{deps}: {err}");
        assert!(err.contains("service.toml") && err.contains("fix:"), "{deps}: {err}");
        assert!(stdout(&o).is_empty(), "{deps}: a unit was printed anyway");
    }
    // Positive control: the same file with a proper name goes through.
    let t = tempfile::tempdir().unwrap();
    let wiki = wiki_with(t.path(), "after = [\"mariadb.service\"]");
    ok(&["unit", wiki.to_str().unwrap(), "--bundle", "/b"]);
}
