//! The admin in a real browser: Debian's headless Chromium, driven by
//! tests/browser/admin.mjs (playwright-core, axe-core), against a real
//! `gazette serve` with demo content. Signs in (after a wrong password and
//! a form without its CSRF token are refused), writes and publishes a
//! bilingual interview with a cover image (after a non-image file is
//! refused without losing the text), sees it on the public page, edits it,
//! gets a conflict for a stale save, unpublishes it, switches the interface
//! to French, and checks what an author-role user is refused. axe-core
//! checks every admin page visited; screenshots go to target/screenshots/.
//!
//! Needs /usr/bin/chromium and `npm ci` in tests/browser (.ci/run and
//! scripts/test see to both), and Node 20 or later (the Node 22 that
//! tests/fedify pins is used when installed).

#![allow(clippy::unwrap_used)]

mod common;

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use common::{Env, PNG, path};

const ADMIN_PASSWORD: &str = "correct horse battery staple";
const WRITER_PASSWORD: &str = "a writer's own long password";

fn browser_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/browser")
}

/// `gazette user create …` with the password on standard input.
fn create_user(env: &Env, args: &[&str], password: &str) {
    let mut full = vec!["user", "create"];
    full.extend_from_slice(args);
    full.push("--password-stdin");
    let mut child = env
        .command(&full)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{password}\n").as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "user create {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn admin_in_headless_chromium() {
    let dir = browser_dir();
    assert!(
        std::path::Path::new("/usr/bin/chromium").exists(),
        "Debian's chromium is needed: apt-get install chromium (.ci/run does)"
    );
    assert!(
        dir.join("node_modules/playwright-core").exists() && dir.join("node_modules/axe-core").exists(),
        "run `npm ci` in tests/browser first (scripts/test does)"
    );
    let Some(env) = Env::new(gazette_store::Backend::Sqlite).await else {
        return;
    };
    // The demo content brings the authors; the server must seed it before users link to them.
    let server = env.serve(&["--demo"]);
    create_user(
        &env,
        &["marie", "--role", "admin", "--name", "Marie Dubois"],
        ADMIN_PASSWORD,
    );
    create_user(
        &env,
        &["writer", "--role", "author", "--author", "tom_verbeke"],
        WRITER_PASSWORD,
    );
    // Too short a password is refused, and nothing is created.
    let mut short = env
        .command(&["user", "create", "shorty", "--password-stdin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    short.stdin.take().unwrap().write_all(b"short\n").unwrap();
    let out = short.wait_with_output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("at least 10 characters"));
    assert!(!env.ok(&["user", "list"]).contains("shorty"));

    let image = env.write("cover.png", PNG);
    let not_image = env.write("notes.png", "this is text, not a picture");
    let screenshots = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/screenshots");
    // playwright-core needs Node 20 or later; Debian 12's is 18, so use the
    // Node 22 that tests/fedify pins when it is installed.
    let pinned = dir.join("../fedify/node_modules/node/bin/node");
    let node = if pinned.exists() { pinned } else { PathBuf::from("node") };
    let out = Command::new(node)
        .arg(dir.join("admin.mjs"))
        .args(["--base", &server.base])
        .args(["--user", "marie", "--password", ADMIN_PASSWORD])
        .args(["--writer", "writer", "--writer-password", WRITER_PASSWORD])
        .args(["--image", path(&image), "--not-image", path(&not_image)])
        .args(["--screenshots", path(&screenshots)])
        .args(["--profile", path(&env.dir.join("chromium-profile"))])
        .current_dir(&dir)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.contains("\"ok\":true"),
        "browser test failed:\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    // The last line lists every page axe-core checked (shown with --nocapture).
    println!("{}", stdout.lines().last().unwrap_or(""));
    assert!(screenshots.join("dashboard.png").exists());
    assert!(screenshots.join("editor-published.png").exists());
}
