//! A real regtest stack per test: a bcoin node and an ElectrumX server,
//! started as child processes in their own temporary folder with their own
//! loopback ports, killed when the [`TestEnv`] is dropped or the test
//! process dies. Method names follow BDK's `bdk_testenv` where they fit.
//!
//! `regtest/install.sh` installs bcoin and ElectrumX (once per test run);
//! `regtest/electrumx_launch.py` starts ElectrumX without its reply delay.

mod proxy;
mod rpc;

use std::collections::HashMap;
use std::fs::File;
use std::io::Write as _;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::str::FromStr;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use bdk_electrum::electrum_client::{self, ElectrumApi};
use bitcoin::hashes::{sha256, Hash as _};
use bitcoin::{Address, Amount, BlockHash, Network, ScriptBuf, Transaction, Txid};
use serde_json::{json, Value};

pub use bdk_electrum::electrum_client::Client as ElectrumClient;
pub use proxy::{Proxy, ProxyMode};
pub use rpc::RpcClient;

/// How long the waits wait by default (service start-up, ElectrumX
/// catching up, a transaction reaching the mempool).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// Height at which bcoin's regtest activates segwit.
pub const SEGWIT_HEIGHT: u32 = 432;

/// Blocks before a coinbase can be spent.
pub const COINBASE_MATURITY: u32 = 100;

/// What can go wrong while starting or driving a stack.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A process, file or socket operation failed.
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
    /// `regtest/install.sh` failed.
    #[error("regtest/install.sh failed: {0}")]
    Install(String),
    /// A service exited or failed while starting; the tail of its log.
    #[error("{service} did not start: {log}")]
    Start {
        /// `bcoin` or `electrumx`.
        service: &'static str,
        /// The last lines of its log.
        log: String,
    },
    /// A bcoin RPC call failed.
    #[error("rpc {0}: {1}")]
    Rpc(String, String),
    /// An Electrum call failed.
    #[error("electrum: {0}")]
    Electrum(#[from] electrum_client::Error),
    /// A wait ran out of time.
    #[error("timed out after {timeout:?} waiting for {what}")]
    Timeout {
        /// What was awaited.
        what: String,
        /// How long.
        timeout: Duration,
    },
    /// An answer did not have the expected form.
    #[error("unexpected answer to {method}: {found}")]
    Unexpected {
        /// The RPC method.
        method: &'static str,
        /// What came back.
        found: String,
    },
}

/// What [`TestEnv::reorg`] and its variants do with the transactions of the
/// orphaned blocks (bcoin's `invalidateblock` drops them and clears the
/// mempool, unlike Bitcoin Core; they are saved first and put back).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReorgMode {
    /// Resubmitted before mining: they confirm again in the first new block.
    Remine,
    /// Resubmitted after mining: they are unconfirmed, in the mempool.
    Mempool,
    /// Discarded (only the previous mempool is restored).
    Drop,
}

/// The result of a reorg.
#[derive(Debug, Clone)]
pub struct Reorg {
    /// The tip before.
    pub old_tip: BlockHash,
    /// The tip after.
    pub new_tip: BlockHash,
    /// The orphaned blocks, lowest first.
    pub orphaned: Vec<BlockHash>,
    /// Their transactions other than the coinbases.
    pub orphaned_txids: Vec<Txid>,
    /// The new blocks, lowest first.
    pub mined: Vec<BlockHash>,
}

/// The result of [`TestEnv::fund`].
#[derive(Debug, Clone, Copy)]
pub struct Funded {
    /// The sum of the coinbase subsidies paid to the address.
    pub amount: Amount,
    /// How many coinbases paid it.
    pub blocks: u32,
    /// The height of the first of them.
    pub first_height: u32,
    /// The tip's height afterwards.
    pub height: u32,
}

/// The processes of a stack this `TestEnv` started (none when attached).
struct Processes {
    bcoin: Child,
    /// `None` while stopped ([`TestEnv::stop_electrum`]).
    electrumx: Option<Child>,
    electrumx_spec: ElectrumxSpec,
    /// A shell that kills both once its stdin closes: when the test process
    /// dies without running `Drop`.
    watchdog: Child,
    _watchdog_stdin: ChildStdin,
    /// One more for each ElectrumX started again.
    more_watchdogs: Vec<(Child, ChildStdin)>,
    _dir: Option<tempfile::TempDir>,
}

/// How ElectrumX is started, to start it again on the same port and
/// database.
struct ElectrumxSpec {
    python: PathBuf,
    dir: PathBuf,
    key: String,
    rpc_port: u16,
    port: u16,
    admin_port: u16,
}

impl ElectrumxSpec {
    fn log(&self) -> PathBuf {
        self.dir.join("electrumx.log")
    }

    fn spawn(&self) -> Result<Child, Error> {
        let mut cmd = Command::new(&self.python);
        base_env(&mut cmd)
            .env("COIN", "Bitcoin")
            .env("NET", "regtest")
            .env("DB_ENGINE", "leveldb")
            .env("DB_DIRECTORY", self.dir.join("electrumx"))
            .env(
                "DAEMON_URL",
                format!("http://x:{}@127.0.0.1:{}/", self.key, self.rpc_port),
            )
            .env(
                "SERVICES",
                format!(
                    "tcp://127.0.0.1:{},rpc://127.0.0.1:{}",
                    self.port, self.admin_port
                ),
            )
            .env("PEER_DISCOVERY", "off")
            .env("PEER_ANNOUNCE", "")
            .env("ALLOW_ROOT", "1")
            .env("DAEMON_POLL_INTERVAL_BLOCKS", "200")
            .env("DAEMON_POLL_INTERVAL_MEMPOOL", "200")
            .env("CACHE_MB", "64")
            .env("COST_SOFT_LIMIT", "0")
            .env("COST_HARD_LIMIT", "0")
            .env("LOG_LEVEL", "info")
            .env("PYTHONUNBUFFERED", "1")
            .arg(crate::repo_file("regtest/electrumx_launch.py"))
            .arg(&self.dir);
        // Appended to: a restart keeps the earlier log.
        let out = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log())?;
        Ok(cmd
            .stdin(Stdio::null())
            .stdout(out.try_clone()?)
            .stderr(out)
            .spawn()?)
    }

    /// Waits until `child` answers on its port.
    fn wait_ready(&self, child: &mut Child) -> Result<ElectrumClient, Error> {
        let url = format!("tcp://127.0.0.1:{}", self.port);
        let elog = self.log();
        wait(
            || "ElectrumX".into(),
            DEFAULT_TIMEOUT,
            || {
                if let Ok(c) = electrum_client(&url) {
                    if c.server_features().is_ok() {
                        return Ok(Some(c));
                    }
                }
                let tail = log_tail(&elog);
                if child.try_wait()?.is_some()
                    || tail.contains("failed to listen")
                    || tail.contains("terminated abnormally")
                {
                    return Err(Error::Start {
                        service: "electrumx",
                        log: tail,
                    });
                }
                Ok(None)
            },
        )
    }
}

/// A shell that kills `pids` once its stdin closes: its stdin is a pipe
/// only this process holds (Rust opens pipes close-on-exec), so it reads
/// EOF when this process ends, however it ends.
fn spawn_watchdog(pids: &[u32]) -> Result<(Child, ChildStdin), Error> {
    let mut watchdog = Command::new("sh");
    watchdog
        .arg("-c")
        .arg(r#"while read -r _; do :; done; kill -KILL "$@" 2>/dev/null"#)
        .arg("btc-anchor-regtest-watchdog")
        .args(pids.iter().map(u32::to_string))
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    std::os::unix::process::CommandExt::process_group(&mut watchdog, 0);
    let mut watchdog = watchdog.spawn()?;
    let stdin = watchdog.stdin.take().ok_or(Error::Unexpected {
        method: "watchdog",
        found: "no stdin".into(),
    })?;
    Ok((watchdog, stdin))
}

/// A running stack: a bcoin node and an ElectrumX server on 127.0.0.1.
pub struct TestEnv {
    rpc: RpcClient,
    electrum_addr: SocketAddr,
    electrum: ElectrumClient,
    dir: PathBuf,
    procs: Option<Processes>,
}

struct Installed {
    bcoin_bin: PathBuf,
    python: PathBuf,
}

fn install() -> Result<&'static Installed, Error> {
    static DONE: OnceLock<Result<Installed, String>> = OnceLock::new();
    let r = DONE.get_or_init(|| {
        let out = Command::new("bash")
            .arg(crate::repo_file("regtest/install.sh"))
            .env("BTC_ANCHOR_REGTEST_QUIET", "1")
            .stdin(Stdio::null())
            .output()
            .map_err(|e| e.to_string())?;
        if !out.status.success() {
            return Err(String::from_utf8_lossy(&out.stderr).into_owned());
        }
        let kv = kv(&String::from_utf8_lossy(&out.stdout));
        let get = |k: &str| kv.get(k).map(PathBuf::from).ok_or(format!("no {k}= line"));
        Ok(Installed {
            bcoin_bin: get("BCOIN_BIN")?,
            python: get("ELECTRUMX_PYTHON")?,
        })
    });
    r.as_ref().map_err(|e| Error::Install(e.clone()))
}

fn kv(text: &str) -> HashMap<String, String> {
    text.lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect()
}

fn free_ports<const N: usize>() -> Result<[u16; N], Error> {
    // Bound together so they differ, then released for the services.
    let socks = (0..N)
        .map(|_| TcpListener::bind("127.0.0.1:0"))
        .collect::<Result<Vec<_>, _>>()?;
    let mut ports = [0; N];
    for (p, s) in ports.iter_mut().zip(&socks) {
        *p = s.local_addr()?.port();
    }
    Ok(ports)
}

fn log_tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(30)..].join("\n")
}

fn random_key() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let seed = format!(
        "{}-{}-{nanos}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    );
    sha256::Hash::hash(seed.as_bytes()).to_string()
}

/// The form of `address` bcoin accepts: its regtest bech32 prefix is `rb`
/// where Bitcoin Core's is `bcrt` (same witness program); base58 addresses
/// are the same.
pub fn bcoin_address(address: &Address) -> String {
    use bitcoin::bech32::{segwit, Fe32, Hrp};
    match address.witness_program() {
        Some(p) => {
            let hrp = Hrp::parse("rb").expect("valid hrp");
            let version = Fe32::try_from(p.version().to_num()).expect("witness version");
            segwit::encode(hrp, version, p.program().as_bytes())
                .unwrap_or_else(|_| address.to_string())
        }
        None => address.to_string(),
    }
}

/// Parses a regtest address in Bitcoin Core's form (`bcrt1…`, or base58).
pub fn parse_address(s: &str) -> Result<Address, Error> {
    s.parse::<Address<bitcoin::address::NetworkUnchecked>>()
        .ok()
        .and_then(|a| a.require_network(Network::Regtest).ok())
        .ok_or(Error::Unexpected {
            method: "parse_address",
            found: s.to_owned(),
        })
}

/// A fresh address nobody holds keys for (P2WPKH to a random program).
pub fn throwaway_address() -> Address {
    let h = bitcoin::hashes::hash160::Hash::hash(random_key().as_bytes());
    let wpkh = bitcoin::WPubkeyHash::from_raw_hash(h);
    Address::from_script(&ScriptBuf::new_p2wpkh(&wpkh), Network::Regtest)
        .expect("p2wpkh is an address")
}

fn wait<T>(
    what: impl FnOnce() -> String,
    timeout: Duration,
    mut f: impl FnMut() -> Result<Option<T>, Error>,
) -> Result<T, Error> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f()? {
            return Ok(v);
        }
        if Instant::now() >= deadline {
            return Err(Error::Timeout {
                what: what(),
                timeout,
            });
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn spawn_logged(cmd: &mut Command, log: &Path) -> Result<Child, Error> {
    let out = File::create(log)?;
    Ok(cmd
        .stdin(Stdio::null())
        .stdout(out.try_clone()?)
        .stderr(out)
        .spawn()?)
}

fn base_env(cmd: &mut Command) -> &mut Command {
    use std::os::unix::process::CommandExt as _;
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", std::env::var_os("HOME").unwrap_or_default())
        .env("LANG", "C.UTF-8")
        // Own process group: a Ctrl-C reaches the test runner, whose
        // watchdog then ends the stack.
        .process_group(0)
}

fn kill(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}

impl TestEnv {
    /// Starts a fresh stack in a new temporary folder.
    pub fn new() -> Result<TestEnv, Error> {
        let dir = tempfile::Builder::new()
            .prefix("btc-anchor-regtest-")
            .tempdir()?;
        let path = dir.path().to_owned();
        TestEnv::start(path, Some(dir))
    }

    /// Starts a fresh stack with its data and logs in `dir` (created; kept
    /// after the stack stops).
    pub fn new_in(dir: &Path) -> Result<TestEnv, Error> {
        std::fs::create_dir_all(dir)?;
        TestEnv::start(dir.canonicalize()?, None)
    }

    fn start(dir: PathBuf, tmp: Option<tempfile::TempDir>) -> Result<TestEnv, Error> {
        let installed = install()?;
        // A port picked as free can be taken before the service binds it
        // (parallel stacks): retry with fresh ports.
        let mut attempt = 0;
        loop {
            attempt += 1;
            match TestEnv::try_start(installed, &dir) {
                Ok((rpc, electrum_addr, electrum, procs)) => {
                    return Ok(TestEnv {
                        rpc,
                        electrum_addr,
                        electrum,
                        dir,
                        procs: Some(Processes { _dir: tmp, ..procs }),
                    })
                }
                Err(Error::Start { log, .. })
                    if attempt < 3
                        && (log.to_lowercase().contains("address already in use")
                            || log.contains("EADDRINUSE")) => {}
                Err(e) => return Err(e),
            }
        }
    }

    fn try_start(
        installed: &Installed,
        dir: &Path,
    ) -> Result<(RpcClient, SocketAddr, ElectrumClient, Processes), Error> {
        let [p2p, rpc_port, eport, aport] = free_ports::<4>()?;
        let key = random_key();
        let (bdir, edir) = (dir.join("bcoin"), dir.join("electrumx"));
        for d in [&bdir, &edir] {
            let _ = std::fs::remove_dir_all(d);
            std::fs::create_dir_all(d)?;
        }
        let blog = dir.join("bcoin.log");
        // A fresh log: the start-up checks read its tail.
        let _ = std::fs::remove_file(dir.join("electrumx.log"));

        // NODE_BACKEND=js: the native add-ons are not compiled.
        let mut bcoin = spawn_logged(
            base_env(&mut Command::new("node"))
                .env("NODE_BACKEND", "js")
                .arg(&installed.bcoin_bin)
                .args([
                    "--network=regtest",
                    "--memory=true",
                    &format!("--prefix={}", bdir.display()),
                    "--host=127.0.0.1",
                    &format!("--port={p2p}"),
                    // Not listening: bcoin then skips its lookup of the
                    // machine's public address on public DNS servers, which
                    // also held up its peer pool for seconds.
                    "--listen=false",
                    "--http-host=127.0.0.1",
                    &format!("--http-port={rpc_port}"),
                    &format!("--api-key={key}"),
                    "--no-wallet=true",
                    "--log-file=false",
                    "--log-level=info",
                    "--workers=false",
                    "--index-tx=true",
                    "--seeds=,",
                ]),
            &blog,
        )?;
        // From here on, a failure must not leave bcoin running.
        let mut guard = KillOnDrop(vec![]);
        let rpc = RpcClient::new(SocketAddr::from(([127, 0, 0, 1], rpc_port)), &key);
        let started = wait(
            || "bcoin's RPC".into(),
            DEFAULT_TIMEOUT,
            || {
                // Ready once the peer pool is up too: bcoin answers RPC
                // before, and a chain reset (`invalidateblock`) meanwhile
                // fails in the pool ("Pool is not connected!") before the
                // mempool follows, which then refuses to mine for good.
                if let Ok(info) = rpc.call("getnetworkinfo", &[]) {
                    if info["networkactive"] == Value::Bool(true) {
                        return Ok(Some(()));
                    }
                }
                if bcoin.try_wait()?.is_some() || log_tail(&blog).contains("EADDRINUSE") {
                    return Err(Error::Start {
                        service: "bcoin",
                        log: log_tail(&blog),
                    });
                }
                Ok(None)
            },
        );
        if let Err(e) = started {
            kill(&mut bcoin);
            return Err(e);
        }
        guard.0.push(bcoin);

        let spec = ElectrumxSpec {
            python: installed.python.clone(),
            dir: dir.to_path_buf(),
            key: key.clone(),
            rpc_port,
            port: eport,
            admin_port: aport,
        };
        guard.0.push(spec.spawn()?);
        let electrum_addr = SocketAddr::from(([127, 0, 0, 1], eport));
        let electrum = spec.wait_ready(&mut guard.0[1])?;

        let pids: Vec<u32> = guard.0.iter().map(Child::id).collect();
        let (watchdog, stdin) = spawn_watchdog(&pids)?;
        let electrumx = guard.0.pop().expect("electrumx");
        let bcoin = guard.0.pop().expect("bcoin");
        Ok((
            rpc,
            electrum_addr,
            electrum,
            Processes {
                bcoin,
                electrumx: Some(electrumx),
                electrumx_spec: spec,
                watchdog,
                _watchdog_stdin: stdin,
                more_watchdogs: Vec::new(),
                _dir: None,
            },
        ))
    }

    /// Attaches to a stack another process started and described with
    /// [`TestEnv::write_env_file`]; dropping it leaves the stack running.
    pub fn attach(env_file: &Path) -> Result<TestEnv, Error> {
        let kv = kv(&std::fs::read_to_string(env_file)?);
        let get = |k: &str| {
            kv.get(k).cloned().ok_or(Error::Unexpected {
                method: "env file",
                found: format!("no {k}= in {}", env_file.display()),
            })
        };
        let parse = |k: &str| -> Result<SocketAddr, Error> {
            let v = get(k)?;
            SocketAddr::from_str(&v).map_err(|_| Error::Unexpected {
                method: "env file",
                found: format!("{k}={v}"),
            })
        };
        let electrum_addr = parse("ELECTRUM_ADDR")?;
        let rpc = RpcClient::new(parse("RPC_ADDR")?, &get("RPC_API_KEY")?);
        Ok(TestEnv {
            rpc,
            electrum_addr,
            electrum: electrum_client(&format!("tcp://{electrum_addr}"))?,
            dir: env_file.parent().unwrap_or(Path::new(".")).to_owned(),
            procs: None,
        })
    }

    /// Writes what [`TestEnv::attach`] needs, as `NAME=value` lines:
    /// `ELECTRUM_URL`, `ELECTRUM_ADDR`, `RPC_URL`, `RPC_ADDR`, `RPC_API_KEY`
    /// and `PID` (of this process).
    pub fn write_env_file(&self, path: &Path) -> Result<(), Error> {
        let tmp = path.with_extension("tmp");
        let mut f = File::create(&tmp)?;
        writeln!(f, "ELECTRUM_URL={}", self.electrum_url())?;
        writeln!(f, "ELECTRUM_ADDR={}", self.electrum_addr)?;
        writeln!(f, "RPC_URL={}", self.rpc.url())?;
        writeln!(f, "RPC_ADDR={}", self.rpc.addr())?;
        writeln!(f, "RPC_API_KEY={}", self.rpc.api_key())?;
        writeln!(f, "PID={}", std::process::id())?;
        drop(f);
        std::fs::rename(tmp, path)?;
        Ok(())
    }

    /// The stack's folder (node and server data, `bcoin.log`,
    /// `electrumx.log`).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// `tcp://127.0.0.1:PORT` of ElectrumX.
    pub fn electrum_url(&self) -> String {
        format!("tcp://{}", self.electrum_addr)
    }

    /// ElectrumX's address.
    pub fn electrum_addr(&self) -> SocketAddr {
        self.electrum_addr
    }

    /// A connected Electrum client.
    pub fn electrum_client(&self) -> &ElectrumClient {
        &self.electrum
    }

    /// The node's RPC client.
    pub fn rpc_client(&self) -> &RpcClient {
        &self.rpc
    }

    /// A bcoin JSON-RPC call (Bitcoin-Core-like).
    pub fn rpc(&self, method: &str, params: &[Value]) -> Result<Value, Error> {
        self.rpc.call(method, params)
    }

    fn rpc_str(&self, method: &'static str, params: &[Value]) -> Result<String, Error> {
        match self.rpc(method, params)? {
            Value::String(s) => Ok(s),
            v => Err(Error::Unexpected {
                method,
                found: v.to_string(),
            }),
        }
    }

    fn rpc_hash<T: FromStr>(&self, method: &'static str, params: &[Value]) -> Result<T, Error> {
        let s = self.rpc_str(method, params)?;
        s.parse()
            .map_err(|_| Error::Unexpected { method, found: s })
    }

    /// The node's tip height.
    pub fn tip(&self) -> Result<u32, Error> {
        let v = self.rpc("getblockcount", &[])?;
        v.as_u64()
            .and_then(|h| u32::try_from(h).ok())
            .ok_or(Error::Unexpected {
                method: "getblockcount",
                found: v.to_string(),
            })
    }

    /// The node's tip hash.
    pub fn best_block_hash(&self) -> Result<BlockHash, Error> {
        self.rpc_hash("getbestblockhash", &[])
    }

    /// The hash of the block at `height`.
    pub fn block_hash(&self, height: u32) -> Result<BlockHash, Error> {
        self.rpc_hash("getblockhash", &[height.into()])
    }

    /// The genesis block's hash.
    pub fn genesis_hash(&self) -> Result<BlockHash, Error> {
        self.block_hash(0)
    }

    /// Mines `count` blocks to `address` (or a fixed throwaway address),
    /// with the mempool's transactions, and returns their hashes once
    /// ElectrumX has them too (unlike `bdk_testenv`, which does not wait).
    pub fn mine_blocks(
        &self,
        count: u32,
        address: Option<&Address>,
    ) -> Result<Vec<BlockHash>, Error> {
        let to = match address {
            Some(a) => bcoin_address(a),
            None => BURN_ADDRESS.to_owned(),
        };
        let hashes = self.generate(count, &to)?;
        self.wait_until_electrum_sees_block(DEFAULT_TIMEOUT)?;
        Ok(hashes)
    }

    fn generate(&self, count: u32, to: &str) -> Result<Vec<BlockHash>, Error> {
        if count == 0 {
            return Ok(vec![]);
        }
        let v = self.rpc("generatetoaddress", &[count.into(), to.into()])?;
        v.as_array()
            .and_then(|a| {
                a.iter()
                    .map(|h| h.as_str()?.parse().ok())
                    .collect::<Option<Vec<BlockHash>>>()
            })
            .ok_or(Error::Unexpected {
                method: "generatetoaddress",
                found: v.to_string(),
            })
    }

    /// Funds `address` with at least `amount` of mature coinbase outputs:
    /// as many blocks as needed pay it (50 BTC each on a fresh chain, halved
    /// every 150 blocks), then enough blocks to a throwaway address to
    /// mature them and to reach segwit activation ([`SEGWIT_HEIGHT`]).
    /// Returns once ElectrumX has caught up.
    pub fn fund(&self, address: &Address, amount: Amount) -> Result<Funded, Error> {
        let start = self.tip()?;
        let (mut blocks, mut total, mut height) = (0u32, Amount::ZERO, start);
        while total < amount {
            height += 1;
            blocks += 1;
            let halvings = height / 150;
            let subsidy = if halvings < 64 {
                Amount::from_sat((50 * 100_000_000) >> halvings)
            } else {
                Amount::ZERO
            };
            if subsidy == Amount::ZERO || blocks > 1000 {
                return Err(Error::Unexpected {
                    method: "fund",
                    found: format!("cannot reach {amount} with coinbases from height {start}"),
                });
            }
            total += subsidy;
        }
        self.generate(blocks, &bcoin_address(address))?;
        let target = (height + COINBASE_MATURITY).max(SEGWIT_HEIGHT);
        self.generate(target - height, BURN_ADDRESS)?;
        self.wait_until_electrum_sees_block(DEFAULT_TIMEOUT)?;
        Ok(Funded {
            amount: total,
            blocks,
            first_height: start + 1,
            height: self.tip()?,
        })
    }

    /// Orphans the top `count` blocks and mines `count + 1` new ones in
    /// their place (so ElectrumX sees a longer chain), their transactions
    /// confirming again in the first new block. Returns once ElectrumX
    /// follows.
    pub fn reorg(&self, count: u32) -> Result<Reorg, Error> {
        self.reorg_with(count, ReorgMode::Remine)
    }

    /// Like [`TestEnv::reorg`], but the new blocks are empty: the orphaned
    /// transactions are back in the mempool, unconfirmed.
    pub fn reorg_empty_blocks(&self, count: u32) -> Result<Reorg, Error> {
        self.reorg_with(count, ReorgMode::Mempool)
    }

    /// Like [`TestEnv::reorg`], but the orphaned transactions vanish from
    /// the node (only the previous mempool is restored).
    pub fn reorg_dropping_txs(&self, count: u32) -> Result<Reorg, Error> {
        self.reorg_with(count, ReorgMode::Drop)
    }

    /// Orphans the top `count` blocks for `mode`; see [`ReorgMode`].
    pub fn reorg_with(&self, count: u32, mode: ReorgMode) -> Result<Reorg, Error> {
        let tip = self.tip()?;
        if count == 0 || count > tip {
            return Err(Error::Unexpected {
                method: "reorg",
                found: format!("cannot reorg {count} blocks at height {tip}"),
            });
        }
        let old_tip = self.best_block_hash()?;
        let orphaned = (tip - count + 1..=tip)
            .map(|h| self.block_hash(h))
            .collect::<Result<Vec<_>, _>>()?;
        let mut block_txs = Vec::new();
        for h in &orphaned {
            block_txs.extend(self.get_block(h)?.txdata.into_iter().skip(1));
        }
        let mut mempool_txs = Vec::new();
        for txid in self.mempool()? {
            // Mined or evicted meanwhile when it fails.
            if let Ok(tx) = self.get_raw_transaction(&txid) {
                mempool_txs.push(tx);
            }
        }
        self.rpc("invalidateblock", &[orphaned[0].to_string().into()])?;
        let now = self.tip()?;
        if now != tip - count {
            return Err(Error::Unexpected {
                method: "invalidateblock",
                found: format!("height {now}, expected {}", tip - count),
            });
        }
        // A fresh address: the new blocks must differ from the invalidated.
        let to = bcoin_address(&throwaway_address());
        let all: Vec<Transaction> = block_txs.iter().chain(&mempool_txs).cloned().collect();
        let mined = match mode {
            ReorgMode::Remine => {
                self.resubmit(&all)?;
                self.generate(count + 1, &to)?
            }
            ReorgMode::Mempool => {
                let m = self.generate(count + 1, &to)?;
                self.resubmit(&all)?;
                m
            }
            ReorgMode::Drop => {
                let m = self.generate(count + 1, &to)?;
                self.resubmit(&mempool_txs)?;
                m
            }
        };
        self.wait_until_electrum_sees_block(DEFAULT_TIMEOUT)?;
        // ElectrumX announces the new tip before every address history it
        // serves has caught up: wait until it places each orphaned
        // transaction where the node does.
        for tx in &block_txs {
            self.wait_until_electrum_places(tx, DEFAULT_TIMEOUT)?;
        }
        Ok(Reorg {
            old_tip,
            new_tip: self.best_block_hash()?,
            orphaned,
            orphaned_txids: block_txs.iter().map(Transaction::compute_txid).collect(),
            mined,
        })
    }

    /// Resubmits `txs` (twice, so a child listed before its parent gets
    /// in); reports on stderr those that stay out.
    fn resubmit(&self, txs: &[Transaction]) -> Result<(), Error> {
        for _ in 0..2 {
            let pool = self.mempool()?;
            for tx in txs {
                if !pool.contains(&tx.compute_txid()) {
                    let _ = self.send_raw_transaction(tx);
                }
            }
        }
        let pool = self.mempool()?;
        let lost: Vec<String> = txs
            .iter()
            .map(Transaction::compute_txid)
            .filter(|t| !pool.contains(t))
            .map(|t| t.to_string())
            .collect();
        if !lost.is_empty() {
            eprintln!("regtest reorg: could not resubmit {}", lost.join(" "));
        }
        Ok(())
    }

    /// The txids in the node's mempool.
    pub fn mempool(&self) -> Result<Vec<Txid>, Error> {
        let v = self.rpc("getrawmempool", &[])?;
        v.as_array()
            .and_then(|a| {
                a.iter()
                    .map(|t| t.as_str()?.parse().ok())
                    .collect::<Option<Vec<Txid>>>()
            })
            .ok_or(Error::Unexpected {
                method: "getrawmempool",
                found: v.to_string(),
            })
    }

    /// A transaction the node has (in a block or its mempool).
    pub fn get_raw_transaction(&self, txid: &Txid) -> Result<Transaction, Error> {
        let hex = self.rpc_str("getrawtransaction", &[txid.to_string().into(), 0.into()])?;
        bitcoin::consensus::encode::deserialize_hex(&hex).map_err(|e| Error::Unexpected {
            method: "getrawtransaction",
            found: e.to_string(),
        })
    }

    /// Sends `tx` to the node. bcoin answers with the txid even when it
    /// rejects the transaction: wait with
    /// [`TestEnv::wait_until_electrum_sees_txid`] before mining.
    pub fn send_raw_transaction(&self, tx: &Transaction) -> Result<Txid, Error> {
        let hex = bitcoin::consensus::encode::serialize_hex(tx);
        self.rpc_hash("sendrawtransaction", &[json!(hex)])
    }

    /// Waits until ElectrumX's tip is the node's (same hash); returns it.
    pub fn wait_until_electrum_sees_block(&self, timeout: Duration) -> Result<BlockHash, Error> {
        let want = self.best_block_hash()?;
        wait(
            || format!("ElectrumX to reach block {want}"),
            timeout,
            || {
                let tip = self.electrum.block_headers_subscribe()?;
                while self.electrum.block_headers_pop()?.is_some() {}
                Ok((tip.header.block_hash() == want).then_some(want))
            },
        )
    }

    /// Waits until `txid` is in the node's mempool or chain and ElectrumX
    /// lists it in the history of one of its outputs. On timeout the error
    /// carries bcoin's rejection reason when its log has one.
    pub fn wait_until_electrum_sees_txid(
        &self,
        txid: Txid,
        timeout: Duration,
    ) -> Result<(), Error> {
        let start = Instant::now();
        let tx = wait(
            || format!("{txid} to reach the node"),
            timeout,
            || Ok(self.get_raw_transaction(&txid).ok()),
        )
        .map_err(|e| match self.rejection(&txid) {
            Some(why) => Error::Timeout {
                what: format!("{txid} to reach the node ({why})"),
                timeout,
            },
            None => e,
        })?;
        let script = tx
            .output
            .iter()
            .find(|o| !o.script_pubkey.is_op_return())
            .or(tx.output.first())
            .map(|o| o.script_pubkey.clone())
            .unwrap_or_default();
        let left = timeout.saturating_sub(start.elapsed());
        wait(
            || format!("ElectrumX to see {txid}"),
            left,
            || {
                let h = self.electrum.script_get_history(&script)?;
                Ok(h.iter().any(|e| e.tx_hash == txid).then_some(()))
            },
        )
    }

    /// Waits until ElectrumX places `tx` where the node does: in the
    /// mempool (history height 0 or below), in the block at the height it
    /// names, or nowhere once the node has dropped it.
    pub fn wait_until_electrum_places(
        &self,
        tx: &Transaction,
        timeout: Duration,
    ) -> Result<(), Error> {
        let txid = tx.compute_txid();
        let Some(script) = tx
            .output
            .iter()
            .find(|o| !o.script_pubkey.is_op_return())
            .map(|o| o.script_pubkey.clone())
        else {
            return Ok(());
        };
        wait(
            || format!("ElectrumX to place {txid} where the node does"),
            timeout,
            || {
                let history = self.electrum.script_get_history(&script)?;
                let served = history.iter().find(|e| e.tx_hash == txid).map(|e| e.height);
                let agrees = if self.mempool()?.contains(&txid) {
                    served.is_some_and(|h| h <= 0)
                } else if self.get_raw_transaction(&txid).is_ok() {
                    match served
                        .and_then(|h| u32::try_from(h).ok())
                        .filter(|h| *h > 0)
                    {
                        Some(h) => self.block_txids(h)?.contains(&txid),
                        None => false,
                    }
                } else {
                    served.is_none()
                };
                Ok(agrees.then_some(()))
            },
        )
    }

    /// The txids of the node's block at `height`.
    fn block_txids(&self, height: u32) -> Result<Vec<Txid>, Error> {
        let block = self.get_block(&self.block_hash(height)?)?;
        Ok(block.txdata.iter().map(Transaction::compute_txid).collect())
    }

    /// The node's block `hash`.
    pub fn get_block(&self, hash: &BlockHash) -> Result<bitcoin::Block, Error> {
        let hex = self.rpc_str("getblock", &[hash.to_string().into(), false.into()])?;
        bitcoin::consensus::encode::deserialize_hex(&hex).map_err(|e| Error::Unexpected {
            method: "getblock",
            found: e.to_string(),
        })
    }

    fn rejection(&self, txid: &Txid) -> Option<String> {
        let log = std::fs::read_to_string(self.dir.join("bcoin.log")).ok()?;
        log.lines()
            .rev()
            .find(|l| l.contains(&format!("hash={txid}")))
            .map(str::to_owned)
    }

    /// Stops ElectrumX (SIGSTOP), so connections hang while the node keeps
    /// its chain; [`TestEnv::resume_electrum`] continues it.
    pub fn pause_electrum(&self) -> Result<(), Error> {
        self.signal_electrumx("STOP")
    }

    /// Continues a paused ElectrumX (SIGCONT).
    pub fn resume_electrum(&self) -> Result<(), Error> {
        self.signal_electrumx("CONT")
    }

    fn signal_electrumx(&self, sig: &str) -> Result<(), Error> {
        let Some(p) = &self.procs else {
            return Err(Error::Unexpected {
                method: "pause/resume",
                found: "an attached stack's ElectrumX belongs to another process".into(),
            });
        };
        let Some(child) = &p.electrumx else {
            return Err(Error::Unexpected {
                method: "pause/resume",
                found: "ElectrumX is stopped".into(),
            });
        };
        signal(child.id(), sig)
    }

    /// Stops ElectrumX (SIGTERM, then waits for it to exit): connections
    /// are refused until [`TestEnv::start_electrum`], while the node keeps
    /// its chain (and can mine). A lost server, as clients see it.
    pub fn stop_electrum(&mut self) -> Result<(), Error> {
        let p = self.procs_mut("stop_electrum")?;
        if let Some(mut child) = p.electrumx.take() {
            signal(child.id(), "TERM")?;
            let deadline = Instant::now() + DEFAULT_TIMEOUT;
            while child.try_wait()?.is_none() {
                if Instant::now() >= deadline {
                    kill(&mut child);
                    break;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        Ok(())
    }

    /// Starts ElectrumX again after [`TestEnv::stop_electrum`], on the same
    /// port and database, and waits until it answers.
    pub fn start_electrum(&mut self) -> Result<(), Error> {
        let p = self.procs_mut("start_electrum")?;
        if p.electrumx.is_some() {
            return Ok(());
        }
        let mut child = p.electrumx_spec.spawn()?;
        let ready = p.electrumx_spec.wait_ready(&mut child);
        // Covered by a watchdog of its own whatever happens next.
        let watchdog = spawn_watchdog(&[child.id()]);
        p.electrumx = Some(child);
        p.more_watchdogs.push(watchdog?);
        self.electrum = ready?;
        Ok(())
    }

    fn procs_mut(&mut self, method: &'static str) -> Result<&mut Processes, Error> {
        self.procs.as_mut().ok_or(Error::Unexpected {
            method,
            found: "an attached stack's ElectrumX belongs to another process".into(),
        })
    }

    /// Starts a fault-injecting proxy in front of ElectrumX.
    pub fn proxy(&self) -> Result<Proxy, Error> {
        Ok(Proxy::start(self.electrum_addr)?)
    }
}

fn electrum_client(url: &str) -> Result<ElectrumClient, electrum_client::Error> {
    let config = electrum_client::ConfigBuilder::new()
        .timeout(Some(Duration::from_secs(10)))
        // One reconnection; with none, electrum-client reports its errors
        // as an empty AllAttemptsErrored.
        .retry(1)
        .build();
    ElectrumClient::from_config(url, config)
}

/// Where blocks go when no address is given; nobody holds its key.
const BURN_ADDRESS: &str = "rb1qacrlt9fekjypfk7waj5s0dmvda4xxdxpm3sqan";

/// Sends `sig` to `pid` with `kill(1)`: the workspace forbids the unsafe
/// code `libc::kill` needs.
fn signal(pid: u32, sig: &str) -> Result<(), Error> {
    let ok = Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(pid.to_string())
        .status()?
        .success();
    if ok {
        Ok(())
    } else {
        Err(Error::Io(std::io::Error::other(format!(
            "kill -{sig} {pid} failed"
        ))))
    }
}

struct KillOnDrop(Vec<Child>);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        for c in &mut self.0 {
            kill(c);
        }
    }
}

impl Drop for TestEnv {
    fn drop(&mut self) {
        if let Some(p) = &mut self.procs {
            // The watchdogs first, so they cannot signal reused pids later.
            kill(&mut p.watchdog);
            for (w, _) in &mut p.more_watchdogs {
                kill(w);
            }
            if let Some(e) = &mut p.electrumx {
                kill(e);
            }
            kill(&mut p.bcoin);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bitcoin::bech32::segwit;

    #[test]
    fn bcoin_addresses_keep_the_witness_program_under_rb() {
        let a = parse_address("bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080").unwrap();
        let rb = bcoin_address(&a);
        assert!(rb.starts_with("rb1q"), "{rb}");
        let (hrp, version, program) = segwit::decode(&rb).unwrap();
        assert_eq!(hrp.as_str(), "rb");
        assert_eq!(version.to_u8(), 0);
        assert_eq!(program, a.witness_program().unwrap().program().as_bytes());
        assert!(parse_address(&rb).is_err());
        assert_ne!(throwaway_address(), throwaway_address());
    }

    /// Two stacks side by side: their own chains, ports and processes, all
    /// gone once dropped.
    #[test]
    fn two_stacks_mine_and_reorg_independently() {
        let (a, b) = (TestEnv::new().unwrap(), TestEnv::new().unwrap());
        assert_ne!(a.electrum_url(), b.electrum_url());
        // ElectrumX 1.18 dies reorging a chain of a few blocks: stay above.
        assert_eq!(a.mine_blocks(20, None).unwrap().len(), 20);
        b.mine_blocks(1, None).unwrap();
        assert_eq!((a.tip().unwrap(), b.tip().unwrap()), (20, 1));
        let r = a.reorg(2).unwrap();
        assert_eq!(r.orphaned.len(), 2);
        assert_eq!(r.mined.len(), 3);
        assert_eq!(a.tip().unwrap(), 21);
        assert_ne!(r.old_tip, r.new_tip);
        assert_eq!(
            a.electrum_client()
                .block_headers_subscribe()
                .unwrap()
                .height,
            21
        );
        let pids: Vec<u32> = [&a, &b]
            .iter()
            .flat_map(|e| {
                let p = e.procs.as_ref().unwrap();
                [
                    p.bcoin.id(),
                    p.electrumx.as_ref().unwrap().id(),
                    p.watchdog.id(),
                ]
            })
            .collect();
        drop((a, b));
        for pid in pids {
            assert!(!Path::new(&format!("/proc/{pid}")).exists(), "{pid} lives");
        }
    }
}
