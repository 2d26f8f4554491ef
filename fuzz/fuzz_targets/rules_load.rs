//! Rule file loading: any bytes as a rule file (and as `lists/words.txt`) load, or fail
//! with errors that each point at FILE:LINE:COL inside the file; nothing panics.
#![no_main]

use commentguard::rules::RuleSet;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // Input: RULE FILE \0 LIST FILE (the list is optional).
    let (file, list) = match data.iter().position(|b| *b == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &b"forex\n"[..]),
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("10-fuzz.toml");
    std::fs::write(&path, file).unwrap();
    std::fs::create_dir_all(dir.path().join("lists")).unwrap();
    std::fs::write(dir.path().join("lists/words.txt"), list).unwrap();
    if let Err(errors) = RuleSet::load(dir.path()) {
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
