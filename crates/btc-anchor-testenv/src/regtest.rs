//! A real regtest stack (bcoin + ElectrumX) per test, started by the
//! scripts in `regtest/`, each in its own temporary directory with its own
//! ports, stopped when dropped.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

fn repo() -> PathBuf {
    crate::repo_root()
}

fn script(name: &str) -> PathBuf {
    repo().join("regtest").join(name)
}

/// Runs a regtest script, returning its stdout; panics with its output on
/// failure.
fn run(name: &str, args: &[&str]) -> String {
    let out = Command::new("bash")
        .arg(script(name))
        .args(args)
        .env(
            "BTC_ANCHOR_REGTEST_WATCH_PID",
            std::process::id().to_string(),
        )
        .output()
        .unwrap_or_else(|e| panic!("cannot run regtest/{name}: {e}"));
    if !out.status.success() {
        panic!(
            "regtest/{name} {args:?} failed:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn install_once() {
    static DONE: OnceLock<()> = OnceLock::new();
    DONE.get_or_init(|| {
        run("install.sh", &[]);
    });
}

/// One running stack.
pub struct Stack {
    /// The stack's folder (node and server data, logs, the `env` file).
    pub dir: tempfile::TempDir,
    /// What `start.sh` wrote to `env`: ports, URLs, process ids.
    pub env: HashMap<String, String>,
}

fn kv(out: &str) -> HashMap<String, String> {
    out.lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect()
}

impl Stack {
    /// Starts a fresh stack.
    pub fn start() -> Stack {
        install_once();
        let dir = tempfile::tempdir().unwrap();
        run("start.sh", &[dir.path().to_str().unwrap()]);
        let env = kv(&std::fs::read_to_string(dir.path().join("env")).unwrap());
        Stack { dir, env }
    }

    fn d(&self) -> &str {
        self.dir.path().to_str().unwrap()
    }

    /// `tcp://127.0.0.1:PORT`.
    pub fn electrum_url(&self) -> String {
        self.env["ELECTRUM_URL"].clone()
    }

    /// Mines `n` blocks (to `address` if given); returns when ElectrumX has
    /// them.
    pub fn mine(&self, n: u32, address: Option<&str>) {
        let n = n.to_string();
        let mut args = vec![self.d(), n.as_str()];
        if let Some(a) = address {
            args.push(a);
        }
        run("mine.sh", &args);
    }

    /// Funds `address` with at least `btc` (mined coinbases, matured; the
    /// chain ends at height 432 or more).
    pub fn fund(&self, address: &str, btc: u32) -> HashMap<String, String> {
        kv(&run("fund.sh", &[self.d(), address, &btc.to_string()]))
    }

    /// Current height.
    pub fn tip(&self) -> u32 {
        run("tip.sh", &[self.d()]).trim().parse().unwrap()
    }

    /// Orphans the top `depth` blocks (`mode`: remine, mempool or drop).
    pub fn reorg(&self, depth: u32, mode: &str) -> HashMap<String, String> {
        kv(&run("reorg.sh", &[self.d(), &depth.to_string(), mode]))
    }

    /// Waits until `txid` is in the node's mempool.
    pub fn wait_mempool(&self, txid: &str) {
        run("mempool.sh", &[self.d(), txid, "20"]);
    }

    /// A bcoin RPC call; the result as JSON text.
    pub fn rpc(&self, method: &str, params: &[&str]) -> String {
        let mut args = vec![self.d(), method];
        args.extend_from_slice(params);
        run("cli.sh", &args)
    }

    /// Stops the stack (also done on drop).
    pub fn stop(&self) {
        run("stop.sh", &[self.d()]);
    }

    /// Starts it again after [`Stack::stop`] is not supported (in-memory
    /// node); tests that need the server back use [`Stack::pause_electrum`].
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Stops ElectrumX only (SIGSTOP), so connections hang or fail while
    /// the node keeps its chain; [`Stack::resume_electrum`] continues it.
    pub fn pause_electrum(&self) {
        signal(&self.env["ELECTRUMX_PID"], "STOP");
    }

    /// Continues a paused ElectrumX.
    pub fn resume_electrum(&self) {
        signal(&self.env["ELECTRUMX_PID"], "CONT");
    }
}

fn signal(pid: &str, sig: &str) {
    let ok = Command::new("kill")
        .args([&format!("-{sig}"), pid])
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    assert!(ok, "kill -{sig} {pid} failed");
}

impl Drop for Stack {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .arg(script("stop.sh"))
            .arg(self.dir.path())
            .output();
    }
}

/// A fault-injecting proxy (`regtest/proxy.py`) in front of a stack's
/// ElectrumX: relays, swallows requests, or lies about merkle proofs.
pub struct Proxy {
    child: std::process::Child,
    /// `tcp://127.0.0.1:PORT` of the proxy.
    pub url: String,
    mode_file: PathBuf,
}

impl Proxy {
    /// `pass`, `drop`, `lie-merkle` or `lie-header`.
    pub fn set(&self, mode: &str) {
        std::fs::write(&self.mode_file, mode).unwrap();
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Stack {
    /// Starts a proxy in front of this stack's Electrum server.
    pub fn proxy(&self) -> Proxy {
        use std::io::BufRead;
        use std::process::Stdio;
        let mode_file = self
            .dir
            .path()
            .join(format!("proxy-mode-{}", rand_suffix()));
        let mut child = Command::new("python3")
            .arg(script("proxy.py"))
            .arg(&self.env["ELECTRUM_PORT"])
            .arg(&mode_file)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 regtest/proxy.py");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line
            .trim()
            .strip_prefix("PORT=")
            .expect("proxy port")
            .to_owned();
        Proxy {
            child,
            url: format!("tcp://127.0.0.1:{port}"),
            mode_file,
        }
    }
}

fn rand_suffix() -> u64 {
    use std::time::{SystemTime, UNIX_EPOCH};
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
}
