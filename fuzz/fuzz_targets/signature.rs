//! The `X-Hub-Signature-256` check: the input is split into a header line and a body; the
//! header verifies only when it is the body's signature (hex in either case), the body's own
//! signature always verifies, and nothing panics.
#![no_main]

use commentguard::ingress::signature::{sign, verify};
use commentguard::secret::Secret;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (header, body) = match data.iter().position(|b| *b == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &b""[..]),
    };
    let header = String::from_utf8_lossy(header);
    let secret = Secret::new("fuzz-app-secret");
    let right = sign(body, &secret);
    assert!(verify(Some(&right), body, std::slice::from_ref(&secret)).is_ok());
    let result = verify(Some(&header), body, std::slice::from_ref(&secret));
    let same = header
        .trim()
        .strip_prefix("sha256=")
        .is_some_and(|h| h.eq_ignore_ascii_case(&right["sha256=".len()..]));
    assert_eq!(result.is_ok(), same, "{header:?}");
});
