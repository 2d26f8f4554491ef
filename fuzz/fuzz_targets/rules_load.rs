//! Rule file loading: any bytes as a rule file (and as `lists/words.txt`) load, or fail
//! with errors that each point at FILE:LINE:COL inside the file; nothing panics. The files
//! are held in memory (`RuleSet::load_from_memory`, the loader the service runs, reading from
//! a map instead of the disk), so no file is written per input.
#![no_main]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use commentguard::rules::RuleSet;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // Input: RULE FILE \0 LIST FILE (the list is optional).
    let (file, list) = match data.iter().position(|b| *b == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &b"forex\n"[..]),
    };
    let dir = Path::new("/fuzz/rules");
    let path = dir.join("10-fuzz.toml");
    let mut files: BTreeMap<PathBuf, Vec<u8>> = BTreeMap::new();
    files.insert(path.clone(), file.to_vec());
    files.insert(dir.join("lists/words.txt"), list.to_vec());
    if let Err(errors) = RuleSet::load_from_memory(dir, files) {
        assert!(!errors.is_empty());
        let lines = String::from_utf8_lossy(file).lines().count().max(1);
        for e in &errors {
            assert!(e.line >= 1 && e.col >= 1, "{e}");
            if e.file == path.display().to_string() {
                assert!(e.line <= lines + 1, "{e} (file has {lines} lines)");
            }
            assert!(!e.message.is_empty());
        }
    }
});
