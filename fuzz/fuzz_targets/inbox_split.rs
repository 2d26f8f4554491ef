//! Webhook payload parsing: any body becomes events or a dead letter, never a panic; events
//! have keys that start with their field and JSON payloads; the same bytes give the same
//! events (a redelivery is stored once); a dead letter keeps the exact bytes.
#![no_main]

use commentguard::inbox::split;
use commentguard::store::Delivery;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|body: &[u8]| {
    match split(body) {
        Delivery::Events(events) => {
            assert!(!events.is_empty());
            for e in &events {
                assert!(e.dedup_key.starts_with(&format!("{}:", e.field)), "{e:?}");
                let payload: serde_json::Value =
                    serde_json::from_str(&e.payload).expect("payload is JSON");
                assert_eq!(payload["field"].as_str(), Some(e.field.as_str()));
            }
            match split(body) {
                Delivery::Events(again) => assert_eq!(events, again),
                Delivery::DeadLetter { .. } => panic!("second split differs"),
            }
        }
        Delivery::DeadLetter { reason, body: kept } => {
            assert!(!reason.is_empty());
            assert_eq!(kept.as_slice(), body);
        }
    }
});
