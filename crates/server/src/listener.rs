//! A listening socket handed to `gazette serve` as its standard input
//! (`--listen-stdin`) instead of an address it binds itself: systemd's
//! `StandardInput=socket` does this, and so does a test harness that must
//! know the port, to put it in the public URL, before the server starts.

use tokio::net::TcpListener;

use crate::error::CliError;

/// The listening TCP socket that is this process's standard input.
#[cfg(unix)]
pub fn from_stdin() -> Result<TcpListener, CliError> {
    use std::os::fd::AsFd;
    let failed = |what: &str, source: std::io::Error| CliError::Io {
        what: format!("--listen-stdin: {what}"),
        source,
    };
    let fd = std::io::stdin()
        .as_fd()
        .try_clone_to_owned()
        .map_err(|e| failed("cannot take standard input", e))?;
    let listener = std::net::TcpListener::from(fd);
    listener
        .local_addr()
        .map_err(|e| failed("standard input is not a TCP socket", e))?;
    listener
        .set_nonblocking(true)
        .map_err(|e| failed("cannot make the socket non-blocking", e))?;
    TcpListener::from_std(listener).map_err(|e| failed("cannot serve on standard input", e))
}

/// Sockets as standard input are a Unix thing.
#[cfg(not(unix))]
pub fn from_stdin() -> Result<TcpListener, CliError> {
    Err(CliError::Usage("--listen-stdin works on Unix only".into()))
}
