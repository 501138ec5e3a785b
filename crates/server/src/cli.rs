//! The command line: subcommands and the options every data command shares.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "gazette",
    version,
    about = "Federated publishing for the social and solidarity economy"
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalOpts,
    #[command(subcommand)]
    pub command: Command,
}

/// Options accepted by every subcommand that touches data.
#[derive(Debug, Clone, Default, Args)]
pub struct GlobalOpts {
    /// Config file (TOML); default: $GAZETTE_CONFIG, else ./gazette.toml if present
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Directory for the SQLite database (default ./data)
    #[arg(long, global = true, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Origin used in every link and id, e.g. https://news.example.org
    #[arg(long, global = true, value_name = "URL")]
    pub public_url: Option<String>,
    /// Database URL (sqlite://FILE or postgres://…); default: SQLite in the data dir
    #[arg(long, global = true, value_name = "URL")]
    pub database_url: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create the config file, the data directory, the database and an admin API token
    Init(InitArgs),
    /// Run the server
    Serve(ServeArgs),
    /// Apply database migrations and exit (with --check, only say which would run)
    Migrate(MigrateArgs),
    /// The instance's recorded public URL: show it, or change it on purpose
    #[command(subcommand)]
    Instance(InstanceCommand),
    /// Write a consistent copy of the database to FILE, also while the server runs
    /// (SQLite: a database file; PostgreSQL: a pg_dump archive)
    Backup { file: PathBuf },
    /// Restore a copy made by `gazette backup` into an empty data directory (or empty PostgreSQL database)
    Restore { file: PathBuf },
    /// Check the installation: config, database, disk, keys, queue, mail, clock and, through the
    /// public URL, /healthz, WebFinger and a signed fetch; one OK/WARN/FAIL line each, non-zero exit on FAIL
    Doctor,
    /// Publish (or with --update, replace) an article from a Markdown file with front matter
    Publish(PublishArgs),
    /// Import posts from a WordPress export or a feed (RSS, Atom, JSON Feed); run again to update
    #[command(subcommand)]
    Import(crate::import::ImportCommand),
    /// List, show or delete articles
    #[command(subcommand)]
    Article(ArticleCommand),
    /// Create, list or revoke API tokens
    #[command(subcommand)]
    Token(TokenCommand),
    /// Show the outbound delivery queue per remote host: pending, retrying, delivered, given up, circuit breaker, last error
    Deliveries(DeliveriesArgs),
    /// Block a domain (no delivery, inbox refused, its stored content purged) or an actor
    #[command(subcommand)]
    Block(BlockCommand),
    /// Lift a domain or actor block
    #[command(subcommand)]
    Unblock(UnblockCommand),
    /// Put a domain on the allowlist (used when federation.mode = "allowlist")
    #[command(subcommand)]
    Allow(AllowCommand),
    /// Take a domain off the allowlist
    #[command(subcommand)]
    Disallow(AllowCommand),
    /// List blocked domains and actors, and the allowlist
    Blocks,
    /// Follow a remote actor (@name@host or actor URL) as the organisation; its articles appear on /network
    Follow { target: String },
    /// Stop following a remote actor
    Unfollow { target: String },
    /// List the remote actors the organisation follows
    Following,
    /// Like a remote article or note (its URL) as the organisation; --undo takes it back
    Like {
        object: String,
        #[arg(long)]
        undo: bool,
    },
    /// Boost (Announce) a remote article or note to the organisation's followers; --undo takes it back
    Boost {
        object: String,
        #[arg(long)]
        undo: bool,
    },
    /// Reply to a remote article or note as the organisation, in Markdown;
    /// `--delete` deletes a reply (give the reply's URL or id instead of the object)
    Reply {
        object: String,
        /// The reply's Markdown text
        text: Option<String>,
        #[arg(long, conflicts_with = "text")]
        delete: bool,
    },
    /// List followers; approve or reject pending ones
    #[command(subcommand)]
    Followers(FollowersCommand),
    /// Local actors' signing keys: list them, rotate them, retire old ones
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Reports (`Flag`) received from other servers
    #[command(subcommand)]
    Reports(ReportsCommand),
    /// Accounts of the web interface at /admin: create, list, roles, disable, password reset links
    #[command(subcommand)]
    User(UserCommand),
    /// The network: join one (as a member), or run one (as its coordinator: members, moderation)
    #[command(subcommand)]
    Network(NetworkCommand),
    /// Demonstrations to try Gazette on this machine
    #[command(subcommand)]
    Demo(DemoCommand),
}

#[derive(Debug, Subcommand)]
pub enum DemoCommand {
    /// Start a network coordinator and four member organisations on loopback ports, join them
    /// through real federation, wait for the shared feed to fill and print the URLs to open;
    /// Ctrl-C stops them all
    Network(DemoNetworkArgs),
}

#[derive(Debug, Args)]
pub struct DemoNetworkArgs {
    /// Directory for the instances' data (new or empty; kept afterwards). Default: a directory
    /// in the system's temp dir, removed when the demo stops (unless --keep)
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Keep the default temp directory when the demo stops
    #[arg(long, conflicts_with = "dir")]
    pub keep: bool,
}

#[derive(Debug, Args)]
pub struct MigrateArgs {
    /// List the migrations that would run, without running them
    #[arg(long)]
    pub check: bool,
}

#[derive(Debug, Subcommand)]
pub enum InstanceCommand {
    /// Print the public URL recorded for this instance
    Show,
    /// Record a new public URL. Followers on other servers do not follow the change:
    /// they keep the old ids
    SetPublicUrl { url: String },
}

#[derive(Debug, Subcommand)]
pub enum NetworkCommand {
    /// Ask to join the network whose actor is TARGET (@network@host): the organisation follows it
    Join { target: String },
    /// Coordinator: members and requests with their health (articles, last activity, deliveries, backfill)
    Members {
        /// Only requested, approved, suspended, rejected or removed members
        #[arg(long)]
        status: Option<String>,
        /// Print JSON instead of a table
        #[arg(long)]
        json: bool,
    },
    /// Coordinator: approve a request (actor URL or @name@host); the network follows it and backfills its outbox
    Approve { member: String },
    /// Coordinator: refuse a request
    Reject { member: String },
    /// Coordinator: suspend a member: its articles are hidden (kept) and nothing new is aggregated
    Suspend { member: String },
    /// Coordinator: remove a member: like suspend, and the network stops following it
    Remove { member: String },
    /// Coordinator: invite an organisation (@name@host): approved at once, the network follows it
    /// (an approved member whose follow was never accepted is retried instead)
    Invite { target: String },
    /// Coordinator: get a stuck approved member going again: a fresh Follow unless the network's
    /// follow of it is accepted, and its backfill at once unless it is done
    Retry { member: String },
    /// Coordinator: remove an article (its id) from the shared feed; the network's boost is undone
    Hide { item: String },
    /// Coordinator: show a removed article again
    Restore { item: String },
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user; prints a one-time link to set the password (or reads it from stdin with --password-stdin)
    Create {
        /// Sign-in name: letters, digits, `_`, `.` and `-`
        username: String,
        /// admin (also users, tokens, organisation), editor (all content and moderation) or author (own drafts)
        #[arg(long, default_value = "editor")]
        role: String,
        /// Name shown in the interface (default: the username)
        #[arg(long)]
        name: Option<String>,
        /// Author profile (username) whose articles the user writes; required for the author role
        #[arg(long)]
        author: Option<String>,
        /// Read the password from the first line of standard input instead of printing a link
        #[arg(long)]
        password_stdin: bool,
        /// Address the one-time link is also mailed to when [mail] is configured
        #[arg(long)]
        email: Option<String>,
    },
    /// List users with their role and state
    List,
    /// Change a user's role (admin, editor or author)
    SetRole { username: String, role: String },
    /// Stop a user from signing in (their sessions end at once)
    Disable { username: String },
    /// Let a disabled user sign in again
    Enable { username: String },
    /// Print a one-time link that sets a new password (valid admin.reset_link_hours); also mailed when [mail] is configured and the user has an address
    ResetPassword { username: String },
    /// Set the address one-time links are mailed to (an empty string clears it)
    SetEmail { username: String, email: String },
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Address the server will listen on
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Overwrite an existing config file
    #[arg(long)]
    pub force: bool,
    /// Organisation name (creates the organisation profile, with --country)
    #[arg(long)]
    pub org_name: Option<String>,
    /// Organisation username, the `name` in @name@host
    #[arg(long, default_value = "news")]
    pub org_username: String,
    /// Organisation country (ISO 3166 alpha-2, e.g. FR)
    #[arg(long)]
    pub country: Option<String>,
    /// cooperative, mutual, association, foundation, social_enterprise or other
    #[arg(long, default_value = "other")]
    pub legal_form: String,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on (default 127.0.0.1:8080)
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<SocketAddr>,
    /// Serve on the listening TCP socket given as standard input (systemd's StandardInput=socket) instead of binding one
    #[arg(long, conflicts_with = "listen")]
    pub listen_stdin: bool,
    /// Seed demo content (organisation, authors, an interview and news) into an empty database
    #[arg(long)]
    pub demo: bool,
}

#[derive(Debug, Args)]
pub struct PublishArgs {
    /// Markdown file with YAML front matter
    pub file: PathBuf,
    /// Replace the existing article with the same slug (or the one given by --url), keeping its id
    #[arg(long)]
    pub update: bool,
    /// With --update: the URL (or slug) of the article to replace
    #[arg(long, requires = "update", value_name = "URL")]
    pub url: Option<String>,
    /// Status when the front matter gives none (draft, scheduled or published)
    #[arg(long, default_value = "published")]
    pub status: String,
}

#[derive(Debug, Args)]
pub struct DeliveriesArgs {
    /// Print JSON (`{"hosts": [...], "totals": {...}}`, as `GET /api/deliveries` answers) instead of a table
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum ArticleCommand {
    /// List articles, newest first
    List {
        /// Only this status (draft, scheduled, published, deleted)
        #[arg(long)]
        status: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: i64,
    },
    /// Show one article, named by slug, id or URL
    Show { article: String },
    /// Delete an article (its URL then answers 410 Gone), named by slug, id or URL
    Delete { article: String },
    /// Show who may quote an article (FEP-044f), or set it: everyone,
    /// followers, nobody, or `default` for the instance's `federation.quote_policy`
    QuotePolicy { article: String, policy: Option<String> },
    /// List the quotes other servers asked for of an article: stamp id, state, who, the quoting post
    Quotes { article: String },
    /// Revoke an accepted quote by its stamp id: the stamp stops resolving and its `Delete` goes to the quoting server
    RevokeQuote { id: String },
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token; the secret is printed once, on the last line
    Create {
        name: String,
        /// The user it belongs to (username): it stops working when they are disabled
        #[arg(long)]
        user: Option<String>,
        /// Refuse it after this many days (default: until revoked)
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..=3660))]
        expires_days: Option<u32>,
    },
    /// List tokens (never their secrets)
    List,
    /// Revoke a token by id or name
    Revoke { token: String },
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Show each actor's current key and the old keys still served, with when they retire
    List {
        /// A local actor (username or actor URL); every local actor without it
        actor: Option<String>,
    },
    /// Make a new key, send an `Update` of the actor with it to its followers, and keep
    /// serving the old key for `federation.key_grace_days` (default 7)
    Rotate {
        /// A local actor (username, actor URL, or the instance actor's); every local actor
        /// (the instance actor too) without it
        actor: Option<String>,
    },
    /// Stop serving old keys now, before their grace period ends (after a key leaked)
    Retire {
        /// A local actor (username or actor URL); every local actor without it
        actor: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum FollowersCommand {
    /// Followers of every local actor (or of --actor), accepted or --pending
    List {
        #[arg(long)]
        pending: bool,
        /// Username of the organisation or an author
        #[arg(long)]
        actor: Option<String>,
    },
    /// Accept a pending follower (actor URL or @name@host)
    Approve {
        follower: String,
        #[arg(long)]
        actor: Option<String>,
    },
    /// Refuse a pending follower (actor URL or @name@host)
    Reject {
        follower: String,
        #[arg(long)]
        actor: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum ReportsCommand {
    /// Open reports, newest first (with --all, resolved ones too)
    List {
        #[arg(long)]
        all: bool,
    },
    /// Mark a report handled
    Resolve { id: String },
}

#[derive(Debug, Subcommand)]
pub enum BlockCommand {
    /// Block a domain and its subdomains (`example.org`; `host:port` blocks that port only)
    Domain {
        domain: String,
        /// Why, for the record (shown by `gazette blocks`)
        #[arg(long, default_value = "")]
        reason: String,
    },
    /// Block one remote actor (actor URL or @name@host) and forget what it did here
    Actor {
        target: String,
        /// Why, for the record (shown by `gazette blocks`)
        #[arg(long, default_value = "")]
        reason: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum UnblockCommand {
    /// Lift a domain block (content purged by it does not come back)
    Domain { domain: String },
    /// Lift an actor block (actor URL, as `gazette blocks` lists it, or @name@host)
    Actor { target: String },
}

#[derive(Debug, Subcommand)]
pub enum AllowCommand {
    /// A domain and its subdomains (`example.org`; `host:port` for that port only)
    Domain { domain: String },
}
