//! Ctrl-C and its kin: listened for, so a long command can stop cleanly.

use crate::failure::Failure;

/// The signals that stop an export or an import early: SIGINT (Ctrl-C),
/// SIGTERM and SIGHUP.
pub struct Interrupts {
    #[cfg(unix)]
    signals: [(tokio::signal::unix::Signal, &'static str); 3],
}

impl Interrupts {
    /// Starts listening: from now on these signals no longer end the
    /// process by themselves.
    pub fn listen() -> Result<Interrupts, Failure> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let listen = |kind: SignalKind| {
                signal(kind).map_err(|e| {
                    Failure::Other(format!("cannot watch for interrupting signals: {e}"))
                })
            };
            Ok(Interrupts {
                signals: [
                    (listen(SignalKind::interrupt())?, "SIGINT"),
                    (listen(SignalKind::terminate())?, "SIGTERM"),
                    (listen(SignalKind::hangup())?, "SIGHUP"),
                ],
            })
        }
        #[cfg(not(unix))]
        Ok(Interrupts {})
    }

    /// Waits for one of the signals; its name.
    pub async fn recv(&mut self) -> &'static str {
        #[cfg(unix)]
        {
            let [(int, i), (term, t), (hup, h)] = &mut self.signals;
            tokio::select! {
                _ = int.recv() => *i,
                _ = term.recv() => *t,
                _ = hup.recv() => *h,
            }
        }
        #[cfg(not(unix))]
        {
            match tokio::signal::ctrl_c().await {
                Ok(()) => "Ctrl-C",
                Err(_) => std::future::pending().await,
            }
        }
    }
}
