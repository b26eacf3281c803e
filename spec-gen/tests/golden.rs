//! Golden files for the generated config.json and units. After an intended
//! change, review the diff and run `UPDATE_GOLDEN=1 cargo test -p spec-gen`.

mod common;

use common::*;

#[test]
fn busybox_bundle_unit_and_template() {
    let t = tempfile::tempdir().unwrap();
    let service = busybox_bundle_dir(t.path());
    let s = service.to_str().unwrap();
    let out = t.path().join("bundle");
    ok(&["bundle", s, "--output", out.to_str().unwrap()]);
    let config = std::fs::read_to_string(out.join("config.json")).unwrap();
    assert_config_ok(&config);
    golden("busybox.config.json", &normalize(&config, &[t.path()]));

    let unit = ok(&["unit", s, "--bundle", "/var/lib/ocirt/bundles/busybox-httpd", "--runtime", "/usr/local/bin/runtime"]);
    golden("busybox-httpd.service", &stdout(&unit));
    let template = ok(&["unit", s, "--template", "--bundle", "/var/lib/ocirt/bundles/busybox-httpd@%i"]);
    golden("busybox-httpd@.service", &stdout(&template));

    // The same input gives the same bytes.
    let again = t.path().join("again");
    ok(&["bundle", s, "--output", again.to_str().unwrap()]);
    assert_eq!(config, std::fs::read_to_string(again.join("config.json")).unwrap());

    // The built rootfs passes its own lints, from the description and from the bundle.
    let c = ok(&["check", s]);
    assert!(stdout(&c).contains("0 error(s)"), "{}", stdout(&c));
    ok(&["check", out.to_str().unwrap()]);

    let e = ok(&["explain", s]);
    let text = stdout(&e);
    assert!(text.contains("May listen on TCP port(s) 8080 only."), "{text}");
    assert!(text.contains("No capabilities"), "{text}");
    assert!(text.contains("as user www (uid 1000)"), "{text}");
}

#[test]
fn every_key_for_two_instances() {
    let service = fixtures().join("full/service.toml");
    let s = service.to_str().unwrap();
    let fixture_dir = fixtures().join("full");
    for instance in ["eu", "us"] {
        let t = tempfile::tempdir().unwrap();
        ok(&["bundle", s, "--instance", instance, "--output", t.path().to_str().unwrap()]);
        let config = std::fs::read_to_string(t.path().join("config.json")).unwrap();
        assert_config_ok(&config);
        golden(&format!("full@{instance}.config.json"), &normalize(&config, &[&fixture_dir]));
    }
    let unit = ok(&["unit", s, "--instance", "eu", "--bundle", "/var/lib/ocirt/bundles/full@eu"]);
    golden("full@eu.service", &stdout(&unit));
    let template = ok(&["unit", s, "--template", "--bundle", "/var/lib/ocirt/bundles/full@{instance}"]);
    golden("full@.service", &stdout(&template));
}

#[test]
fn instance_values_land_where_documented() {
    let s = fixtures().join("full/service.toml");
    let t = tempfile::tempdir().unwrap();
    ok(&["bundle", s.to_str().unwrap(), "--instance", "eu", "--output", t.path().to_str().unwrap()]);
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(t.path().join("config.json")).unwrap()).unwrap();
    // No fixed cgroup: the runtime gives every id its own (/ocirt/ID), so two ids run
    // from this bundle never share one.
    assert!(v["linux"].get("cgroupsPath").is_none(), "{}", v["linux"]);
    assert_eq!(v["annotations"]["org.ocirt.landlock.net.bind"], "[9443]");
    assert_eq!(v["process"]["args"][2], "eu");
    let env: Vec<&str> = v["process"]["env"].as_array().unwrap().iter().map(|e| e.as_str().unwrap()).collect();
    assert!(env.contains(&"REGION=eu") && env.contains(&"MODE=prod") && env.contains(&"TZ=Europe/Paris"), "{env:?}");
    assert!(v["mounts"].as_array().unwrap().iter().any(|m| m["destination"] == "/srv/eu"));
    let ns: Vec<&str> = v["linux"]["namespaces"].as_array().unwrap().iter().map(|n| n["type"].as_str().unwrap()).collect();
    assert!(ns.contains(&"network"));
    // UDP selects the udp profile.
    let names = v["linux"]["seccomp"]["syscalls"][0]["names"].as_array().unwrap();
    assert!(names.iter().any(|n| n == "recvfrom"));
}

#[test]
fn host_network_has_no_network_namespace() {
    let t = tempfile::tempdir().unwrap();
    let service = busybox_bundle_dir(t.path());
    ok(&["bundle", service.to_str().unwrap(), "--output", t.path().to_str().unwrap()]);
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(t.path().join("config.json")).unwrap()).unwrap();
    let ns: Vec<&str> = v["linux"]["namespaces"].as_array().unwrap().iter().map(|n| n["type"].as_str().unwrap()).collect();
    assert_eq!(ns, ["pid", "ipc", "uts", "mount"]);
    let caps = &v["process"]["capabilities"];
    for set in ["bounding", "effective", "inheritable", "permitted", "ambient"] {
        assert_eq!(caps[set], serde_json::json!([]), "{set}");
    }
    assert_eq!(v["root"]["readonly"], true);
}
