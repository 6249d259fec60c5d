//! Compiles the QNX resource-manager framework (`src/c`: the dispatch,
//! resmgr, iofunc and thread-pool layers, a thin C layer over the C API as
//! in QNX's libc) into the library. Its public names are exported by
//! `src/framework.rs` (see `src/c/internal.h`).

fn main() {
    let files = ["src/c/dispatch.c", "src/c/iofunc.c", "src/c/pool.c"];
    for f in files.iter().chain(["src/c/internal.h"].iter()) {
        println!("cargo:rerun-if-changed={f}");
    }
    println!("cargo:rerun-if-changed=include");
    cc::Build::new()
        .files(files)
        .include("include")
        .flag("-std=c11")
        .warnings(true)
        .extra_warnings(true)
        .flag_if_supported("-Werror=implicit-function-declaration")
        .flag_if_supported("-Werror=incompatible-pointer-types")
        .compile("baton_framework");
}
