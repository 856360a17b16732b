//! A tmux server of the test's own (`tmux -L iotcert-test-PID`), running one command in
//! a detached pane of a given size, and killed (only it) when the test ends.

use std::path::{Path, PathBuf};
use std::process::Command;

pub struct Tmux {
    socket: String,
    config: PathBuf,
}

impl Tmux {
    /// Start the server with one session running `command` in `dir`; the pane stays
    /// after the command ends, so its exit status and last screen can be read.
    pub fn start(dir: &Path, width: usize, height: usize, command: &[&str]) -> Tmux {
        let config = dir.join("tmux.conf");
        std::fs::write(
            &config,
            "set -g remain-on-exit on\nset -g history-limit 100000\nset -g status off\n",
        )
        .unwrap();
        let tmux = Tmux {
            socket: format!("iotcert-test-{}", std::process::id()),
            config,
        };
        let (width, height) = (width.to_string(), height.to_string());
        let mut args = vec!["new-session", "-d", "-x", &width, "-y", &height, "-c"];
        let dir = dir.to_str().unwrap();
        args.push(dir);
        args.extend_from_slice(command);
        tmux.run(&args);
        tmux
    }

    fn run(&self, args: &[&str]) -> String {
        let output = Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .arg("-f")
            .arg(&self.config)
            .args(args)
            .output()
            .unwrap_or_else(|e| {
                panic!("tmux could not be run ({e}): install it (scripts/test does)")
            });
        assert!(
            output.status.success(),
            "tmux {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    pub fn pane_size(&self) -> (usize, usize) {
        let size = self.run(&["display-message", "-p", "#{pane_width} #{pane_height}"]);
        let mut numbers = size.split_whitespace().map(|n| n.parse::<usize>().unwrap());
        (numbers.next().unwrap(), numbers.next().unwrap())
    }

    /// The command's exit status once it has ended.
    pub fn exit_status(&self) -> Option<i32> {
        let state = self.run(&["display-message", "-p", "#{pane_dead} #{pane_dead_status}"]);
        let mut words = state.split_whitespace();
        (words.next() == Some("1")).then(|| words.next().and_then(|s| s.parse().ok()).unwrap_or(-1))
    }

    /// Every line the pane holds, scrollback included, wrapped lines joined into one.
    pub fn scrollback(&self) -> String {
        self.run(&["capture-pane", "-p", "-J", "-S", "-"])
    }

    /// The screen as it is now, wrapped lines joined.
    pub fn screen(&self) -> String {
        self.run(&["capture-pane", "-p", "-J"])
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .arg("kill-server")
            .status();
    }
}
