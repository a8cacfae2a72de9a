use std::io::BufRead;

use anyhow::Context;
use clap::{Args, Subcommand};

use super::storage::{StorageArgs, block_on};
use crate::accounts::Accounts;
use crate::review::Role;

/// Manage officer accounts (stored in the service's database).
#[derive(Debug, Args)]
pub struct UsersArgs {
    #[command(subcommand)]
    command: UsersCommand,
    #[command(flatten)]
    storage: StorageArgs,
}

#[derive(Debug, Subcommand)]
enum UsersCommand {
    /// Add a user; the password comes from SCANTRIAGE_PASSWORD or the first line of stdin.
    Add {
        name: String,
        #[arg(long, value_parser = clap::builder::ValueParser::new(|text: &str| text.parse::<Role>()))]
        role: Role,
    },
    /// List the users: name, role, active or disabled.
    List,
    /// Set a user's password (from SCANTRIAGE_PASSWORD or stdin) and end their sessions.
    SetPassword { name: String },
    /// Disable a user and end their sessions.
    Disable { name: String },
    /// Let a disabled user sign in again, with the password they had.
    Enable { name: String },
}

/// Manage scanner stations' API keys.
#[derive(Debug, Args)]
pub struct KeysArgs {
    #[command(subcommand)]
    command: KeysCommand,
    #[command(flatten)]
    storage: StorageArgs,
}

#[derive(Debug, Subcommand)]
enum KeysCommand {
    /// Create a key for a station and print it (it is not shown again).
    Create {
        #[arg(long)]
        station: String,
    },
    /// List the keys (id, station, created, last used, revoked); the keys themselves are not stored.
    List,
    /// Revoke a key by its id.
    Revoke { key_id: String },
}

pub fn run_users(args: UsersArgs) -> anyhow::Result<()> {
    block_on(async move {
        let accounts = Accounts::new(args.storage.open_store().await?);
        match args.command {
            UsersCommand::Add { name, role } => {
                accounts.add_user(&name, role, &given_password()?).await?;
                eprintln!("added {name} ({})", role.as_str());
            }
            UsersCommand::List => {
                for user in accounts.users().await? {
                    println!("{}\t{}\t{}", user.name, user.role.as_str(), if user.active { "active" } else { "disabled" });
                }
            }
            UsersCommand::SetPassword { name } => {
                accounts.reset_password(&name, &given_password()?).await?;
                eprintln!("set the password of {name}; their sessions have ended");
            }
            UsersCommand::Disable { name } => {
                accounts.disable_user(&name).await?;
                eprintln!("disabled {name}");
            }
            UsersCommand::Enable { name } => {
                accounts.enable_user(&name).await?;
                eprintln!("enabled {name}");
            }
        }
        Ok(())
    })
}

/// SCANTRIAGE_PASSWORD, or the first line of stdin.
fn given_password() -> anyhow::Result<String> {
    if let Ok(password) = std::env::var("SCANTRIAGE_PASSWORD") {
        return Ok(password);
    }
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line).context("cannot read the password from stdin")?;
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

pub fn run_keys(args: KeysArgs) -> anyhow::Result<()> {
    block_on(async move {
        let accounts = Accounts::new(args.storage.open_store().await?);
        match args.command {
            KeysCommand::Create { station } => {
                let (key_id, key) = accounts.create_station_key(&station).await?;
                eprintln!("created {key_id} for station {station}; the key (shown only now):");
                println!("{key}");
            }
            KeysCommand::List => {
                for key in accounts.station_keys().await? {
                    let state = key.revoked_at.map_or("valid".to_owned(), |at| format!("revoked {at}"));
                    let used = key.last_used_at.map_or("never used".to_owned(), |at| format!("last used {at}"));
                    println!("{}\t{}\tcreated {}\t{used}\t{state}", key.key_id, key.station_id, key.created_at);
                }
            }
            KeysCommand::Revoke { key_id } => {
                accounts.revoke_station_key(&key_id).await?;
                eprintln!("revoked {key_id}");
            }
        }
        Ok(())
    })
}
