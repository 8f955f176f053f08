//! The self-custody wallet that pays for anchoring transactions: a BDK
//! descriptor wallet (`wpkh` by default) persisted in SQLite.
//!
//! Secrets (the mnemonic if there is one, and the private descriptors) live
//! only in `wallet.secret` in the data directory, created with mode 0600 and
//! never logged or printed except by [`secret_backup`]. The wallet database
//! (`wallet.sqlite`) holds public descriptors only; transactions are signed
//! with the key map read from the secret file.

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use crate::store::{create_private_dir, create_private_file};
use bdk_wallet::bitcoin::bip32::Xpriv;
use bdk_wallet::bitcoin::script::PushBytesBuf;
use bdk_wallet::bitcoin::{Address, Amount, FeeRate, Network, OutPoint, Transaction, Txid};
use bdk_wallet::descriptor::IntoWalletDescriptor;
use bdk_wallet::keys::bip39::{Language, Mnemonic};
use bdk_wallet::miniscript::descriptor::{KeyMap, KeyMapWrapper};
use bdk_wallet::rusqlite::Connection;
use bdk_wallet::TxOrdering;
use bdk_wallet::{KeychainKind, PersistedWallet, SignOptions, Wallet};

use btc_anchor_electrum::{Electrum, ElectrumError};

/// File name of the secret file inside the data directory.
pub const SECRET_FILE: &str = "wallet.secret";
/// File name of the wallet database inside the data directory.
pub const WALLET_DB_FILE: &str = "wallet.sqlite";
/// Addresses scanned past the last used one on a full scan.
pub const STOP_GAP: usize = 20;
const BATCH: usize = 10;

/// An underlying error, kept as the source of a [`WalletError`].
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Errors of the wallet.
///
/// Errors of BDK and of the key libraries are kept as sources; the
/// messages never repeat them (print the chain for the whole story).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WalletError {
    /// No wallet in this data directory.
    #[error("no wallet in {0}")]
    NoWallet(PathBuf),
    /// A wallet already exists.
    #[error("a wallet already exists in {0}")]
    Exists(PathBuf),
    /// The secret file or wallet database could not be used.
    #[error("cannot use {path}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// The secret file has permissions other than owner-only.
    #[error("{path} is readable by others (mode {mode:o}); it must be 0600")]
    Permissions {
        /// The file.
        path: PathBuf,
        /// Its mode.
        mode: u32,
    },
    /// The secret file does not parse.
    #[error("{path} is damaged: {reason}")]
    BadSecret {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: &'static str,
    },
    /// A mnemonic, key or descriptor given by the user does not parse.
    #[error("invalid key material: the {what} does not parse")]
    BadKey {
        /// Which: `mnemonic`, `xprv`, `external descriptor`, ...
        what: &'static str,
        /// Why.
        #[source]
        source: BoxError,
    },
    /// The descriptors hold no private key.
    #[error(
        "invalid key material: the descriptors hold no private key, so nothing could be signed"
    )]
    NoPrivateKey,
    /// The system's random number generator failed.
    #[error("cannot generate a key: the system's random number generator failed")]
    Random(#[source] BoxError),
    /// The wallet belongs to another network.
    #[error("the wallet is for {found}, not {expected}")]
    WrongNetwork {
        /// The network asked for.
        expected: Network,
        /// The wallet's network.
        found: Network,
    },
    /// The wallet database failed.
    #[error("the wallet database failed")]
    Database(#[source] BoxError),
    /// Not enough confirmed funds.
    #[error("insufficient funds: {needed} needed, {available} available")]
    InsufficientFunds {
        /// Amount needed, fee included.
        needed: Amount,
        /// Amount available.
        available: Amount,
    },
    /// Building the transaction failed.
    #[error("cannot build the transaction")]
    Build(#[source] BoxError),
    /// Signing an input failed.
    #[error("cannot sign input {input} of the transaction")]
    Sign {
        /// The input.
        input: usize,
        /// Why.
        #[source]
        source: BoxError,
    },
    /// The wallet's keys do not sign every input.
    #[error("the transaction could not be fully signed")]
    NotFullySigned,
    /// The fee would exceed the limit.
    #[error("the fee of {fee} exceeds the limit of {max}")]
    FeeTooHigh {
        /// The fee.
        fee: Amount,
        /// The limit.
        max: Amount,
    },
    /// The seal output to spend is not a coin of this wallet (spent
    /// elsewhere, or never seen).
    #[error("the seal output {outpoint} is not an unspent coin of this wallet")]
    SealUnknown {
        /// The seal output.
        outpoint: OutPoint,
    },
    /// The server failed during a sync.
    #[error(transparent)]
    Electrum(#[from] ElectrumError),
}

fn build_err(e: impl std::error::Error + Send + Sync + 'static) -> WalletError {
    WalletError::Build(Box::new(e))
}

fn bad_key(what: &'static str) -> impl FnOnce(BoxError) -> WalletError {
    move |source| WalletError::BadKey { what, source }
}

/// Where a new wallet's keys come from.
#[derive(Debug, Clone)]
pub enum KeySource {
    /// A new 12-word BIP39 mnemonic from the OS RNG.
    Generate,
    /// An existing BIP39 mnemonic (English).
    Mnemonic(String),
    /// An extended private key (`xprv`/`tprv`).
    Xprv(String),
    /// A pair of private descriptors, external and change.
    Descriptors {
        /// The receive descriptor.
        external: String,
        /// The change descriptor.
        internal: String,
    },
}

struct Secret {
    network: Network,
    mnemonic: Option<String>,
    external: String,
    internal: String,
}

fn coin_type(network: Network) -> u32 {
    if network == Network::Bitcoin {
        0
    } else {
        1
    }
}

fn descriptors_from_xprv(xprv: &Xpriv, network: Network) -> (String, String) {
    let c = coin_type(network);
    (
        format!("wpkh({xprv}/84'/{c}'/0'/0/*)"),
        format!("wpkh({xprv}/84'/{c}'/0'/1/*)"),
    )
}

fn secret_from_source(source: KeySource, network: Network) -> Result<Secret, WalletError> {
    let from_mnemonic = |m: Mnemonic| -> Result<Secret, WalletError> {
        let seed = m.to_seed("");
        let xprv = Xpriv::new_master(network, &seed).map_err(|e| bad_key("seed")(e.into()))?;
        let (external, internal) = descriptors_from_xprv(&xprv, network);
        Ok(Secret {
            network,
            mnemonic: Some(m.to_string()),
            external,
            internal,
        })
    };
    match source {
        KeySource::Generate => {
            let mut entropy = [0u8; 16];
            getrandom::fill(&mut entropy).map_err(|e| WalletError::Random(e.into()))?;
            let m = Mnemonic::from_entropy_in(Language::English, &entropy)
                .map_err(|e| bad_key("mnemonic")(e.into()))?;
            from_mnemonic(m)
        }
        KeySource::Mnemonic(words) => {
            let m = Mnemonic::parse_in(Language::English, words.trim())
                .map_err(|e| bad_key("mnemonic")(e.into()))?;
            from_mnemonic(m)
        }
        KeySource::Xprv(s) => {
            let xprv = Xpriv::from_str(s.trim()).map_err(|e| bad_key("xprv")(e.into()))?;
            let (external, internal) = descriptors_from_xprv(&xprv, network);
            Ok(Secret {
                network,
                mnemonic: None,
                external,
                internal,
            })
        }
        KeySource::Descriptors { external, internal } => Ok(Secret {
            network,
            mnemonic: None,
            external,
            internal,
        }),
    }
}

fn toml_string(s: &str) -> String {
    toml::Value::String(s.to_owned()).to_string()
}

impl Secret {
    fn to_file_text(&self) -> String {
        let mut out = String::from(
            "# btc-anchor wallet secret. Anyone with this file can spend the wallet's funds.\n\
             # Keep it private (mode 0600) and back it up offline.\n",
        );
        out += &format!("network = {}\n", toml_string(&self.network.to_string()));
        if let Some(m) = &self.mnemonic {
            out += &format!("mnemonic = {}\n", toml_string(m));
        }
        out += &format!("external = {}\n", toml_string(&self.external));
        out += &format!("internal = {}\n", toml_string(&self.internal));
        out
    }

    fn read(path: &Path) -> Result<Secret, WalletError> {
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let meta = fs::metadata(path).map_err(|source| WalletError::Io {
                path: path.to_path_buf(),
                source,
            })?;
            let mode = meta.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                return Err(WalletError::Permissions {
                    path: path.to_path_buf(),
                    mode,
                });
            }
        }
        let text = fs::read_to_string(path).map_err(|source| WalletError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let bad = |reason: &'static str| WalletError::BadSecret {
            path: path.to_path_buf(),
            reason,
        };
        let table: toml::Table = text.parse().map_err(|_| bad("not valid TOML"))?;
        let get = |k: &str| table.get(k).and_then(|v| v.as_str()).map(str::to_owned);
        let network = get("network")
            .and_then(|n| Network::from_str(&n).ok())
            .ok_or_else(|| bad("no valid network"))?;
        Ok(Secret {
            network,
            mnemonic: get("mnemonic"),
            external: get("external").ok_or_else(|| bad("no external descriptor"))?,
            internal: get("internal").ok_or_else(|| bad("no internal descriptor"))?,
        })
    }

    fn write_new(&self, path: &Path) -> Result<(), WalletError> {
        let io_err = |source| WalletError::Io {
            path: path.to_path_buf(),
            source,
        };
        let mut opts = OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let mut f = opts.open(path).map_err(io_err)?;
        f.write_all(self.to_file_text().as_bytes())
            .map_err(io_err)?;
        f.sync_all().map_err(io_err)
    }
}

/// Where a wallet's changes are kept: `wallet.sqlite` in the data
/// directory, or (feature `postgres`) a calendar server's shared database.
#[derive(Debug)]
#[non_exhaustive]
pub enum WalletDb {
    /// BDK's SQLite persister.
    Sqlite(Connection),
    /// Changesets in PostgreSQL.
    #[cfg(feature = "postgres")]
    Postgres(crate::postgres::PgChangesets),
}

/// Errors of a [`WalletDb`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WalletDbError {
    /// The SQLite database failed.
    #[error("wallet database")]
    Sqlite(#[from] bdk_wallet::rusqlite::Error),
    /// The PostgreSQL one failed.
    #[cfg(feature = "postgres")]
    #[error(transparent)]
    Postgres(#[from] crate::postgres::ChangesetError),
}

impl bdk_wallet::WalletPersister for WalletDb {
    type Error = WalletDbError;

    fn initialize(db: &mut Self) -> Result<bdk_wallet::ChangeSet, WalletDbError> {
        match db {
            WalletDb::Sqlite(c) => Ok(bdk_wallet::WalletPersister::initialize(c)?),
            #[cfg(feature = "postgres")]
            WalletDb::Postgres(p) => Ok(p.load()?),
        }
    }

    fn persist(db: &mut Self, changeset: &bdk_wallet::ChangeSet) -> Result<(), WalletDbError> {
        match db {
            WalletDb::Sqlite(c) => Ok(bdk_wallet::WalletPersister::persist(c, changeset)?),
            #[cfg(feature = "postgres")]
            WalletDb::Postgres(p) => Ok(p.append(changeset)?),
        }
    }
}

/// The wallet with its database and signing keys.
pub struct AnchorWallet {
    wallet: PersistedWallet<WalletDb>,
    db: WalletDb,
    keymap: KeyMap,
    data_dir: PathBuf,
}

impl std::fmt::Debug for AnchorWallet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print keys.
        f.debug_struct("AnchorWallet")
            .field("network", &self.wallet.network())
            .field("data_dir", &self.data_dir)
            .finish_non_exhaustive()
    }
}

/// What [`AnchorWallet::create`] returns besides the wallet: the mnemonic
/// when one was generated, for the user to write down once.
pub type NewMnemonic = Option<String>;

type Descs = (
    bdk_wallet::descriptor::ExtendedDescriptor,
    bdk_wallet::descriptor::ExtendedDescriptor,
    KeyMap,
);

fn parse_descriptors(secret: &Secret) -> Result<Descs, WalletError> {
    let secp = bdk_wallet::bitcoin::secp256k1::Secp256k1::new();
    let kind = secret.network.into();
    let (ext, mut keymap) = secret
        .external
        .as_str()
        .into_wallet_descriptor(&secp, kind)
        .map_err(|e| bad_key("external descriptor")(e.into()))?;
    let (int, int_keys) = secret
        .internal
        .as_str()
        .into_wallet_descriptor(&secp, kind)
        .map_err(|e| bad_key("internal descriptor")(e.into()))?;
    keymap.extend(int_keys);
    if keymap.is_empty() {
        return Err(WalletError::NoPrivateKey);
    }
    Ok((ext, int, keymap))
}

fn db_err(e: impl std::error::Error + Send + Sync + 'static) -> WalletError {
    WalletError::Database(Box::new(e))
}

impl AnchorWallet {
    /// Creates a wallet in `data_dir`. Fails if one exists there.
    pub fn create(
        data_dir: &Path,
        network: Network,
        source: KeySource,
    ) -> Result<(AnchorWallet, NewMnemonic), WalletError> {
        let secret_path = data_dir.join(SECRET_FILE);
        let db_path = data_dir.join(WALLET_DB_FILE);
        if secret_path.exists() || db_path.exists() {
            return Err(WalletError::Exists(data_dir.to_path_buf()));
        }
        create_private_dir(data_dir).map_err(|source| WalletError::Io {
            path: data_dir.to_path_buf(),
            source,
        })?;
        create_private_file(&db_path).map_err(|source| WalletError::Io {
            path: db_path.clone(),
            source,
        })?;
        let generated = matches!(source, KeySource::Generate);
        let secret = secret_from_source(source, network)?;
        let (ext, int, keymap) = parse_descriptors(&secret)?;
        secret.write_new(&secret_path)?;
        let mut db = WalletDb::Sqlite(Connection::open(&db_path).map_err(db_err)?);
        let wallet = Wallet::create(ext, int)
            .network(network)
            .create_wallet(&mut db)
            .map_err(db_err)?;
        let mnemonic = if generated {
            secret.mnemonic.clone()
        } else {
            None
        };
        Ok((
            AnchorWallet {
                wallet,
                db,
                keymap,
                data_dir: data_dir.to_path_buf(),
            },
            mnemonic,
        ))
    }

    /// Opens the wallet in `data_dir`, checking it is for `network`.
    pub fn open(data_dir: &Path, network: Network) -> Result<AnchorWallet, WalletError> {
        let secret = Self::read_secret(data_dir, network)?;
        let db_path = data_dir.join(WALLET_DB_FILE);
        // A wallet made by an earlier version is made private too.
        create_private_file(&db_path).map_err(|source| WalletError::Io {
            path: db_path.clone(),
            source,
        })?;
        let db = WalletDb::Sqlite(Connection::open(&db_path).map_err(db_err)?);
        Self::load(data_dir, secret, db)
    }

    /// Opens the wallet whose keys are in `data_dir` and whose changes are
    /// kept in `db` (a calendar server's shared database), checking it is
    /// for `network`. A `db` with no changes yet gets a new wallet, which a
    /// full scan fills.
    pub fn open_with(
        data_dir: &Path,
        network: Network,
        db: WalletDb,
    ) -> Result<AnchorWallet, WalletError> {
        let secret = Self::read_secret(data_dir, network)?;
        Self::load(data_dir, secret, db)
    }

    fn read_secret(data_dir: &Path, network: Network) -> Result<Secret, WalletError> {
        let secret_path = data_dir.join(SECRET_FILE);
        if !secret_path.exists() {
            return Err(WalletError::NoWallet(data_dir.to_path_buf()));
        }
        let secret = Secret::read(&secret_path)?;
        if secret.network != network {
            return Err(WalletError::WrongNetwork {
                expected: network,
                found: secret.network,
            });
        }
        Ok(secret)
    }

    fn load(
        data_dir: &Path,
        secret: Secret,
        mut db: WalletDb,
    ) -> Result<AnchorWallet, WalletError> {
        let network = secret.network;
        let (ext, int, keymap) = parse_descriptors(&secret)?;
        let loaded = Wallet::load()
            .descriptor(KeychainKind::External, Some(ext.clone()))
            .descriptor(KeychainKind::Internal, Some(int.clone()))
            .check_network(network)
            .load_wallet(&mut db)
            .map_err(db_err)?;
        let wallet = match loaded {
            Some(w) => w,
            // The secret survived but the database did not: rebuild it; a
            // full scan recovers the history.
            None => Wallet::create(ext, int)
                .network(network)
                .create_wallet(&mut db)
                .map_err(db_err)?,
        };
        Ok(AnchorWallet {
            wallet,
            db,
            keymap,
            data_dir: data_dir.to_path_buf(),
        })
    }

    /// The wallet's network.
    pub fn network(&self) -> Network {
        self.wallet.network()
    }

    /// A receive address not used yet (revealed and remembered).
    pub fn address(&mut self) -> Result<Address, WalletError> {
        let info = self.wallet.next_unused_address(KeychainKind::External);
        self.wallet.persist(&mut self.db).map_err(db_err)?;
        Ok(info.address)
    }

    /// The balance as last synced.
    pub fn balance(&self) -> bdk_wallet::Balance {
        self.wallet.balance()
    }

    /// Syncs with the server: a full scan the first time, then the
    /// revealed addresses.
    pub fn sync(&mut self, server: &Electrum) -> Result<(), WalletError> {
        let client = server.bdk();
        client.populate_tx_cache(self.wallet.tx_graph().full_txs().map(|t| t.tx));
        let first = self.wallet.latest_checkpoint().height() == 0;
        if first {
            let request = self.wallet.start_full_scan();
            let update = client
                .full_scan(request, STOP_GAP, BATCH, true)
                .map_err(|e| WalletError::Electrum(ElectrumError::from_client(server.url(), e)))?;
            self.wallet.apply_update(update).map_err(db_err)?;
        } else {
            let request = self.wallet.start_sync_with_revealed_spks();
            let update = client
                .sync(request, BATCH, true)
                .map_err(|e| WalletError::Electrum(ElectrumError::from_client(server.url(), e)))?;
            self.wallet.apply_update(update).map_err(db_err)?;
        }
        self.wallet.persist(&mut self.db).map_err(db_err)?;
        Ok(())
    }

    fn sign(
        &mut self,
        mut psbt: bdk_wallet::bitcoin::Psbt,
    ) -> Result<(Transaction, Amount), WalletError> {
        let signer = KeyMapWrapper::from(self.keymap.clone());
        if let Err((_, errors)) = psbt.sign(&signer, self.wallet.secp_ctx()) {
            return Err(match errors.into_iter().next() {
                Some((input, e)) => WalletError::Sign {
                    input,
                    source: Box::new(e),
                },
                None => WalletError::NotFullySigned,
            });
        }
        let done = self
            .wallet
            .finalize_psbt(&mut psbt, SignOptions::default())
            .map_err(build_err)?;
        if !done {
            return Err(WalletError::NotFullySigned);
        }
        let fee = psbt.fee().map_err(build_err)?;
        let tx = psbt.extract_tx().map_err(build_err)?;
        Ok((tx, fee))
    }

    fn map_create_error(&self, e: bdk_wallet::error::CreateTxError) -> WalletError {
        match e {
            bdk_wallet::error::CreateTxError::CoinSelection(i) => WalletError::InsufficientFunds {
                needed: i.needed,
                available: i.available,
            },
            other => build_err(other),
        }
    }

    /// Builds and signs the anchoring transaction: one OP_RETURN output
    /// pushing `root`, change back to the wallet, RBF signalled, at
    /// `fee_rate`; refused if the fee exceeds `max_fee`. With a `seal`,
    /// outputs stay in order: the OP_RETURN first, then the new seal
    /// ([`crate::backend::SEAL_VALUE`] to a change address of this
    /// wallet), then change; and the previous seal output is spent.
    /// Nothing is broadcast or remembered here.
    pub fn build_anchor_tx(
        &mut self,
        root: &[u8; 32],
        fee_rate: FeeRate,
        max_fee: Amount,
        seal: Option<crate::backend::Seal>,
    ) -> Result<(Transaction, Amount), WalletError> {
        let data = PushBytesBuf::from(*root);
        let seal_script = match seal {
            Some(_) => {
                let a = self.wallet.next_unused_address(KeychainKind::Internal);
                self.wallet.persist(&mut self.db).map_err(db_err)?;
                Some(a.address.script_pubkey())
            }
            None => None,
        };
        let mut b = self.wallet.build_tx();
        b.add_data(&data);
        if let (Some(seal), Some(script)) = (seal, seal_script) {
            b.ordering(TxOrdering::Untouched);
            b.add_recipient(script, crate::backend::SEAL_VALUE);
            if let Some(outpoint) = seal.spend {
                b.add_utxo(outpoint)
                    .map_err(|_| WalletError::SealUnknown { outpoint })?;
            }
        }
        b.fee_rate(fee_rate);
        b.set_exact_sequence(bdk_wallet::bitcoin::Sequence::ENABLE_RBF_NO_LOCKTIME);
        let psbt = match b.finish() {
            Ok(p) => p,
            Err(e) => return Err(self.map_create_error(e)),
        };
        let (tx, fee) = self.sign(psbt)?;
        if fee > max_fee {
            return Err(WalletError::FeeTooHigh { fee, max: max_fee });
        }
        Ok((tx, fee))
    }

    /// Builds and signs a replacement of `txid` at `fee_rate` (RBF),
    /// committing to the same root.
    pub fn build_bump(
        &mut self,
        txid: Txid,
        fee_rate: FeeRate,
        max_fee: Amount,
    ) -> Result<(Transaction, Amount), WalletError> {
        let psbt = {
            let mut b = self.wallet.build_fee_bump(txid).map_err(build_err)?;
            // The outputs in their order: a seal stays where it was.
            b.ordering(TxOrdering::Untouched);
            b.fee_rate(fee_rate);
            b.set_exact_sequence(bdk_wallet::bitcoin::Sequence::ENABLE_RBF_NO_LOCKTIME);
            match b.finish() {
                Ok(p) => p,
                Err(e) => return Err(self.map_create_error(e)),
            }
        };
        let (tx, fee) = self.sign(psbt)?;
        if fee > max_fee {
            return Err(WalletError::FeeTooHigh { fee, max: max_fee });
        }
        Ok((tx, fee))
    }

    /// Tells the wallet about a transaction it sent, so its inputs are not
    /// spent again before the next sync.
    pub fn note_sent(&mut self, tx: &Transaction) -> Result<(), WalletError> {
        // A sync that did not find it (not relayed yet) marked it evicted;
        // it must be seen after that to count again.
        let evicted = self
            .wallet
            .tx_graph()
            .get_last_evicted(tx.compute_txid())
            .unwrap_or(0);
        let now = (crate::store::now() as u64).max(evicted + 1);
        self.wallet.apply_unconfirmed_txs([(tx.clone(), now)]);
        self.wallet.persist(&mut self.db).map_err(db_err)?;
        Ok(())
    }
}

/// The secret file's contents, for an explicit backup command only.
pub fn secret_backup(data_dir: &Path) -> Result<String, WalletError> {
    let path = data_dir.join(SECRET_FILE);
    if !path.exists() {
        return Err(WalletError::NoWallet(data_dir.to_path_buf()));
    }
    Ok(Secret::read(&path)?.to_file_text())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_open_and_secret_permissions() {
        let dir = tempfile::tempdir().unwrap();
        let (mut w, mnemonic) =
            AnchorWallet::create(dir.path(), Network::Regtest, KeySource::Generate).unwrap();
        assert_eq!(mnemonic.unwrap().split_whitespace().count(), 12);
        let a1 = w.address().unwrap();
        drop(w);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(dir.path().join(SECRET_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let mut w = AnchorWallet::open(dir.path(), Network::Regtest).unwrap();
        // Not used yet, so the same address again.
        assert_eq!(w.address().unwrap(), a1);
        assert!(format!("{w:?}").find("prv").is_none());
        assert!(matches!(
            AnchorWallet::open(dir.path(), Network::Signet),
            Err(WalletError::WrongNetwork { .. })
        ));
        assert!(matches!(
            AnchorWallet::create(dir.path(), Network::Regtest, KeySource::Generate),
            Err(WalletError::Exists(_))
        ));
    }

    #[test]
    fn known_mnemonic_gives_known_address() {
        let dir = tempfile::tempdir().unwrap();
        let words = "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about";
        let (mut w, m) = AnchorWallet::create(
            dir.path(),
            Network::Bitcoin,
            KeySource::Mnemonic(words.into()),
        )
        .unwrap();
        assert!(m.is_none());
        // BIP84 test vector: first receive address of this mnemonic.
        assert_eq!(
            w.address().unwrap().to_string(),
            "bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu"
        );
    }

    #[test]
    fn bad_keys_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(
            AnchorWallet::create(
                dir.path(),
                Network::Regtest,
                KeySource::Mnemonic("not words".into())
            ),
            Err(WalletError::BadKey { .. })
        ));
        assert!(!dir.path().join(SECRET_FILE).exists());
    }
}
