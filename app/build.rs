//! `sqlx::migrate!` embeds `migrations/` at compile time, but cargo does not
//! know the macro read that folder: without this, a new migration file alone
//! leaves a stale build that never applies it.
fn main() {
    println!("cargo:rerun-if-changed=../migrations");
}
