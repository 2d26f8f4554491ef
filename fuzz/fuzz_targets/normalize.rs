//! Normalization: normalizing twice changes nothing, for any text.
#![no_main]

use commentguard::rules::normalize::normalize;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let once = normalize(&text);
    assert_eq!(normalize(&once), once, "{text:?}");
});
