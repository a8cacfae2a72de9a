use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

use super::storage::StorageArgs;
use crate::config::ConfigFile;
use crate::service::{Service, Storage};

/// Run the service: the HTTP API, the officers' console and the analysis workers.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on [default: 127.0.0.1:8080, or the config file's].
    #[arg(long, env = "SCANTRIAGE_LISTEN")]
    listen: Option<std::net::SocketAddr>,
    /// TOML configuration file (see docs/operations.md).
    #[arg(long, env = "SCANTRIAGE_CONFIG")]
    config: Option<PathBuf>,
    #[command(flatten)]
    storage: StorageArgs,
    /// Write the port the service listens on to this file once it accepts connections.
    #[arg(long)]
    port_file: Option<PathBuf>,
}

pub fn run(args: ServeArgs) -> anyhow::Result<()> {
    let config = ConfigFile::load(args.config.as_deref())?;
    tokio::runtime::Builder::new_multi_thread().enable_all().build()?.block_on(async move {
        let storage = Storage { database_url: args.storage.database_url()?, images_dir: args.storage.images_dir() };
        let service = Service::start(&config, &storage).await?;
        let listen = args.listen.or(config.server.listen).unwrap_or_else(|| ([127, 0, 0, 1], 8080).into());
        let listener = tokio::net::TcpListener::bind(listen).await.with_context(|| format!("cannot listen on {listen}"))?;
        if let Some(path) = &args.port_file {
            let port = listener.local_addr()?.port().to_string();
            std::fs::write(path, port).with_context(|| format!("cannot write {}", path.display()))?;
        }
        service.serve(listener, super::stop_requested()).await
    })
}
