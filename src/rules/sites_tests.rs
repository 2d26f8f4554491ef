//! Tests of how [`super::sites`] tells a customer's emphasis, code or number in fancy letters
//! from a disguised site name (split from sites.rs by size).

use super::normalize::Normalized;
use super::sites::{names_in, site_keys, site_names};

fn disguised(t: &str) -> Vec<String> {
    names_in(t)
        .into_iter()
        .filter_map(|(name, disguised)| disguised.then_some(name))
        .collect()
}

/// A customer's emphasis, code or order number in fancy letters is no disguised site name
/// (stop 44: the pack hid 211 of a helper's 260 such comments); the sites of gambling
/// promotions, in capitals, with their numbers, in pieces, still are.
#[test]
fn emphasis_codes_and_numbers_are_not_site_names() {
    for t in [
        "kak ini bahannya 𝐚𝐝𝐞𝐦 banget sumpah",
        "que 𝐥𝐢𝐧𝐝𝐨 esse vestido, preciso urgente",
        "this jacket is 𝐄𝐕𝐄𝐑𝐘𝐓𝐇𝐈𝐍𝐆 😍",
        "𝐄𝐍𝐀𝐊 banget sih ini, tiap minggu pasti beli",
        "𝐒𝐀𝐋𝐄 on the 𝐁𝐎𝐎𝐓𝐒 too?? wallet crying",
        "wish it came in a b̲i̲g̲g̲e̲r̲ size tbh",
        "used 𝚂𝚄𝙼𝙼𝙴𝚁𝟷𝟻 at checkout and it said expired",
        "kak aku masukin 𝐑𝐀𝐌𝐀𝐃𝐀𝐍𝟑𝟎 kok ga bisa ya",
        "my parcel 𝗦𝗣𝗫𝟮𝟮𝟬𝟵𝟯𝟴𝟰𝟳𝟭𝟭 says delivered but nothing here",
        "is the 𝐀𝐢𝐫 𝐅𝐨𝐫𝐜𝐞 𝟏 '07 available in white?",
        "𝗚𝗢 𝗟𝗜𝗢𝗡𝗦 🦁 what a season",
        // One fancy word with a capital and small letters, a number in fancy digits.
        "the 𝐀𝐢𝐫 𝟏 in white please",
        // A plain number beside a fancy word is a size or a price.
        "ada 𝐒𝐈𝐙𝐄 40 ga kak?",
    ] {
        assert_eq!(disguised(t), Vec::<String>::new(), "{t}");
    }
    // A discount code written plainly or spaced out is no site-shaped name either; the
    // cross-validation keys still hold it, as they did when the folds were drawn.
    for t in [
        "does welcome10 still work? and summer15",
        "kak kode W E L C O M E 1 0 masih bisa?",
    ] {
        let n = Normalized::new(t);
        assert!(site_names(&n, t, &[]).is_empty(), "{t}");
    }
    let t = "does welcome10 still work?";
    assert_eq!(site_keys(&Normalized::new(t), t), ["welcome10"]);
    for (t, name) in [
        (
            "baru coba main di 𝐒𝐔𝐋𝐓𝐀𝐍𝐏𝐄𝐓𝐈𝐑𝟖𝟖 langsung JP",
            "sultanpetir88",
        ),
        ("Main bareng teman di A𝙂𝘜𝐒𝘛𝐎𝙏О makin seru", "agustoto"),
        ("🅱️𝕌 𝕂𝕀𝕋 𝟠𝟠 𝟠gampang banget buat dicoba", "kit"),
        ("yuk main di 𝐕𝐈𝐒𝐈 𝟒𝐃 sekarang juga", "visi"),
        ("𝗢𝗠𝗕𝗔𝗞𝟰𝗗 lagi gacor parah, depo 20 wd 2jt", "ombak4d"),
        ("Cuan real di P͟U͟L͟A͟U͟W͟I͟N mantap", "pulauwin"),
        // Small letters that are no common word, when underlined, mixed with plain letters
        // on both sides, or with a capital after them behind an invisible space.
        ("udah liat p͟u͟l͟a͟u͟w͟i͟n͟ belum", "pulauwin"),
        ("yuk ke p𝐮𝐥𝐚𝐮win sekarang", "pulauwin"),
        ("main di 𝗧𝘂𝗽𝗮𝗶\u{200B}𝗪𝗶𝗻 gacor", "tupaiwin"),
        ("mampir ke 𝐒𝐔𝐋𝐓𝐀𝐍𝐩𝐞𝐭𝐢𝐫 sekarang", "sultanpetir"),
    ] {
        assert!(
            disguised(t).iter().any(|n| n == name),
            "{t}: {:?}",
            disguised(t)
        );
    }
}
