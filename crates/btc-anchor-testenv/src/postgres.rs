//! A throwaway PostgreSQL cluster per test: `initdb` into its own folder,
//! the server on a free loopback port (no Unix socket outside that
//! folder), trust authentication for the loopback only, stopped
//! (immediately) when dropped. Debian's `postgresql` package provides the
//! binaries (`/usr/lib/postgresql/<version>/bin`); `initdb` refuses to run
//! as root, so as root the cluster runs as the `postgres` user the package
//! creates.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Errors starting a cluster.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PgError {
    /// No PostgreSQL server binaries on this machine.
    #[error("no PostgreSQL server binaries (install Debian's postgresql package)")]
    NotInstalled,
    /// A command could not run or failed.
    #[error("{command} failed: {detail}")]
    Command {
        /// The command.
        command: &'static str,
        /// Its stderr, or why it could not start.
        detail: String,
    },
    /// The server did not answer in time.
    #[error("the PostgreSQL server did not start within {0:?}")]
    Timeout(Duration),
    /// A file system operation failed.
    #[error("cluster folder")]
    Io(#[from] std::io::Error),
}

/// The folder of the newest installed PostgreSQL's binaries, if any.
pub fn bin_dir() -> Option<PathBuf> {
    let mut dirs: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let v = e.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").is_file().then_some((v, bin))
        })
        .collect();
    dirs.sort();
    dirs.pop().map(|(_, d)| d)
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// A running throwaway cluster.
#[derive(Debug)]
pub struct PgCluster {
    _dir: tempfile::TempDir,
    data: PathBuf,
    bin: PathBuf,
    port: u16,
    as_postgres: bool,
}

impl PgCluster {
    /// Starts a new cluster on a free loopback port.
    ///
    /// # Errors
    ///
    /// [`PgError::NotInstalled`] without the binaries; any failure of
    /// `initdb` or the server.
    pub fn start() -> Result<PgCluster, PgError> {
        let bin = bin_dir().ok_or(PgError::NotInstalled)?;
        let as_postgres = is_root();
        let dir = tempfile::Builder::new().prefix("btc-anchor-pg").tempdir()?;
        if as_postgres {
            // The folder is the postgres user's, and only its.
            let ok = Command::new("chown")
                .args(["postgres:postgres"])
                .arg(dir.path())
                .status()?
                .success();
            if !ok {
                return Err(PgError::Command {
                    command: "chown",
                    detail: "cannot give the cluster folder to the postgres user".into(),
                });
            }
        }
        let data = dir.path().join("data");
        let mut cluster = PgCluster {
            _dir: dir,
            data,
            bin,
            port: 0,
            as_postgres,
        };
        cluster.run(
            "initdb",
            &[
                "-D".as_ref(),
                cluster.data.as_os_str(),
                "--auth=trust".as_ref(),
                "--username=postgres".as_ref(),
                "--encoding=UTF8".as_ref(),
                "--no-instructions".as_ref(),
            ],
        )?;
        // A port picked as free can be taken before the server binds it
        // (parallel tests): retry with another.
        let mut last = None;
        for _ in 0..5 {
            let port = std::net::TcpListener::bind("127.0.0.1:0")?
                .local_addr()?
                .port();
            cluster.port = port;
            let options = format!(
                "-c listen_addresses=127.0.0.1 -p {port} -c unix_socket_directories={} -c max_connections=50",
                cluster.data.display()
            );
            let log = cluster.data.join("server.log");
            match cluster.run(
                "pg_ctl",
                &[
                    "-D".as_ref(),
                    cluster.data.as_os_str(),
                    "-l".as_ref(),
                    log.as_os_str(),
                    "-o".as_ref(),
                    options.as_ref(),
                    "-w".as_ref(),
                    "-t".as_ref(),
                    "60".as_ref(),
                    "start".as_ref(),
                ],
            ) {
                Ok(()) => {
                    return cluster
                        .wait_ready(Duration::from_secs(60))
                        .map(|()| cluster)
                }
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or(PgError::Timeout(Duration::from_secs(60))))
    }

    fn command(&self, program: &str) -> Command {
        let path = self.bin.join(program);
        if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(path);
            c
        } else {
            Command::new(path)
        }
    }

    fn run(&self, command: &'static str, args: &[&std::ffi::OsStr]) -> Result<(), PgError> {
        let out = self
            .command(command)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| PgError::Command {
                command,
                detail: e.to_string(),
            })?;
        if out.status.success() {
            Ok(())
        } else {
            Err(PgError::Command {
                command,
                detail: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
            })
        }
    }

    fn wait_ready(&self, timeout: Duration) -> Result<(), PgError> {
        let started = Instant::now();
        while started.elapsed() < timeout {
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Err(PgError::Timeout(timeout))
    }

    /// Its port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// A libpq connection string for database `postgres`.
    pub fn url(&self) -> String {
        format!(
            "host=127.0.0.1 port={} user=postgres dbname=postgres connect_timeout=10",
            self.port
        )
    }

    /// Its data folder.
    pub fn data_dir(&self) -> &Path {
        &self.data
    }

    /// Stops the server at once (as a crash would).
    ///
    /// # Errors
    ///
    /// `pg_ctl` failing.
    pub fn stop(&self) -> Result<(), PgError> {
        self.run(
            "pg_ctl",
            &[
                "-D".as_ref(),
                self.data.as_os_str(),
                "-m".as_ref(),
                "immediate".as_ref(),
                "-w".as_ref(),
                "stop".as_ref(),
            ],
        )
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        let _ = self.stop();
    }
}
