//! A sandbox run as a child process (the `plugipay-sandbox` binary, or
//! `plugipay sandbox`), ready once it has printed its address.

use std::io::{self, BufRead, BufReader};
use std::process::{Child, Command, Stdio};

/// The line a running sandbox prints first on stdout, before its address.
pub const LISTENING_PREFIX: &str = "listening on ";

/// A sandbox in a process of its own, killed when dropped.
///
/// [`spawn`](SandboxProcess::spawn) returns once the process has printed
/// `listening on URL` (it prints it once its port is bound), so the sandbox
/// accepts connections from then on: no sleeping, no polling.
///
/// ```no_run
/// use plugipay_sandbox::SandboxProcess;
///
/// let mut command = std::process::Command::new("plugipay-sandbox");
/// command.args(["--addr", "127.0.0.1:0", "--seed-customers", "10"]);
/// let sandbox = SandboxProcess::spawn(command)?;
/// println!("the sandbox listens at {}", sandbox.base_url());
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct SandboxProcess {
    child: Child,
    base_url: String,
}

impl SandboxProcess {
    /// Starts `command` with its stdout piped (its stderr is discarded unless
    /// the command sets it) and reads stdout up to the `listening on` line.
    /// Fails when the process cannot start, or ends or closes stdout before
    /// that line; the process is killed then.
    pub fn spawn(mut command: Command) -> io::Result<Self> {
        command.stdout(Stdio::piped()).stdin(Stdio::null());
        let mut child = command.spawn()?;
        let stdout = child.stdout.take().expect("stdout is piped");
        match first_address(BufReader::new(stdout)) {
            Ok(base_url) => Ok(Self { child, base_url }),
            Err(e) => {
                let _ = child.kill();
                let status = child.wait();
                Err(io::Error::new(
                    e.kind(),
                    format!("the sandbox process did not start ({status:?}): {e}"),
                ))
            }
        }
    }

    /// The sandbox's base URL, `http://HOST:PORT`.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The child process (to send it a signal, or wait for it).
    pub fn child(&mut self) -> &mut Child {
        &mut self.child
    }
}

impl Drop for SandboxProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The URL of the first `listening on URL` line; lines before it are skipped.
/// The rest of the output is left unread (the sandbox prints nothing more on
/// stdout).
fn first_address(mut reader: impl BufRead) -> io::Result<String> {
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "stdout ended before the `listening on` line",
            ));
        }
        if let Some(url) = line.trim_end().strip_prefix(LISTENING_PREFIX) {
            return Ok(url.to_owned());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::first_address;

    #[test]
    fn the_address_is_the_listening_line() {
        let out = "warming up\nlistening on http://127.0.0.1:4000\r\nmore\n";
        assert_eq!(
            first_address(out.as_bytes()).unwrap(),
            "http://127.0.0.1:4000"
        );
        let err = first_address("no address\n".as_bytes()).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::UnexpectedEof);
    }
}
