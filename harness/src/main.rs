//! The `iotcert` binary: everything happens in the library's [`iotcert::cli::main`].

fn main() -> std::process::ExitCode {
    iotcert::cli::main()
}
