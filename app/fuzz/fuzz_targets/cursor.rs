//! Cursors from outside: never a panic; a cursor that decodes encodes back
//! to the same text, and decodes again to the same position.
#![no_main]

use app::model::Cursor;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(cursor) = Cursor::decode(text) {
        let again = cursor.encode();
        assert_eq!(again, text);
        assert_eq!(Cursor::decode(&again), Ok(cursor));
    }
});
