//! Every help text and error message of `obscura` is pinned here (`tests/cmd/*.toml`).
//! After an intended change: `TRYCMD=overwrite cargo test -p obscura --test cli`, then review the diff.

#[test]
fn cli_snapshots() {
    // The "readable by others" case needs a key file that others can read, whatever the umask
    // of the checkout was.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let loose = "tests/cmd/key-readable-by-others.in/org.key";
        std::fs::set_permissions(loose, std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    trycmd::TestCases::new().case("tests/cmd/*.toml");
}
