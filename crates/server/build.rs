//! Lays out the code a release build runs most together: on x86_64 Linux,
//! where rustc links with its own lld (the default since Rust 1.90), the
//! functions listed in `symbol-order.txt` (written by
//! `scripts/order-symbols`: start-up, publishing, the public read path) are
//! placed first in the binary. The kernel maps code in blocks of 64 KiB or
//! more around each page first run; with the running code packed, the
//! server keeps about 10 MiB less of the binary resident (docs/benchmarks.md,
//! issue 16). Where glibc is 2.36 or later, the same builds also pack
//! their relative relocations (DT_RELR, below). Other builds are left as
//! they are, and so is a build whose linker was chosen by hand.
//! `GAZETTE_SYMBOL_ORDER=off` turns both off.

use std::path::Path;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=symbol-order.txt");
    println!("cargo:rerun-if-env-changed=GAZETTE_SYMBOL_ORDER");
    let var = |name: &str| std::env::var(name).unwrap_or_default();
    let ordered = var("PROFILE") == "release"
        && var("TARGET") == "x86_64-unknown-linux-gnu"
        && var("GAZETTE_SYMBOL_ORDER") != "off"
        && var("RUSTC_LINKER").is_empty()
        && !var("CARGO_ENCODED_RUSTFLAGS").contains("link")
        && own_lld(&var("RUSTC"));
    if !ordered {
        return;
    }
    let order = Path::new(&var("CARGO_MANIFEST_DIR")).join("symbol-order.txt");
    if order.is_file() {
        println!(
            "cargo:rustc-link-arg-bin=gazette=-Wl,--symbol-ordering-file={}",
            order.display()
        );
        // Names of functions since renamed or gone are skipped quietly.
        println!("cargo:rustc-link-arg-bin=gazette=-Wl,--no-warn-symbol-ordering");
    }
    // Relative relocations packed (DT_RELR): the loader reads a few
    // kilobytes at start instead of 1.7 MiB of `.rela.dyn`, which then stays
    // resident. The binary needs glibc 2.36 or later to start, so only a
    // build on such a system for itself gets it.
    if var("HOST") == var("TARGET") && glibc_at_least(2, 36) {
        println!("cargo:rustc-link-arg-bin=gazette=-Wl,-z,pack-relative-relocs");
    }
}

/// Whether the C library here is glibc `major.minor` or later
/// (`getconf GNU_LIBC_VERSION` prints "glibc 2.36").
fn glibc_at_least(major: u32, minor: u32) -> bool {
    let Some(out) = Command::new("getconf").arg("GNU_LIBC_VERSION").output().ok() else {
        return false;
    };
    let text = String::from_utf8_lossy(&out.stdout);
    let Some(version) = text.trim().strip_prefix("glibc ") else {
        return false;
    };
    let mut parts = version.split('.').map(|p| p.parse::<u32>().ok());
    match (parts.next().flatten(), parts.next().flatten()) {
        (Some(a), Some(b)) => (a, b) >= (major, minor),
        _ => false,
    }
}

/// Whether `rustc` is 1.90 or later and ships its lld (`gcc-ld/ld.lld` in
/// its sysroot): then it links with that lld unless told otherwise. A
/// packaged rustc without it links with the system's linker, which may not
/// know the ordering option.
fn own_lld(rustc: &str) -> bool {
    let rustc = if rustc.is_empty() { "rustc" } else { rustc };
    let output = |arg: &str| {
        let out = Command::new(rustc).arg(arg).output().ok()?;
        String::from_utf8(out.stdout).ok()
    };
    // "rustc 1.95.0 (…)"
    let minor = output("--version").and_then(|text| {
        let mut parts = text.split_whitespace().nth(1)?.split('.');
        (parts.next()? == "1").then_some(())?;
        parts.next()?.parse::<u32>().ok()
    });
    let lld = output("--print=sysroot").is_some_and(|sysroot| {
        Path::new(sysroot.trim())
            .join("lib/rustlib/x86_64-unknown-linux-gnu/bin/gcc-ld/ld.lld")
            .is_file()
    });
    minor.is_some_and(|minor| minor >= 90) && lld
}
