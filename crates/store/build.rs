// `sqlx::migrate!` embeds the migrations at compile time; a new file in the folder
// must rebuild the crate, which cargo does not know by itself.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
