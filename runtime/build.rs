// Build-time facts for `--version`: see packaging/version.rs.
include!("../packaging/version.rs");

fn main() {
    ocirt_version();
}
