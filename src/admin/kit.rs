//! The review pages' HTML kit: escaping, the one style sheet, the page frame with its
//! navigation slot, and the headers every page carries. A leaf: it imports nothing of the
//! pages that use it.
//!
//! Pages are written as Rust functions returning strings, with every outside string through
//! [`esc`]. A template crate was weighed (askama, maud): the pages are small, a template crate
//! adds a proc-macro build to a cold CI build on two cores, and the escaping rule stays one
//! function that a test checks; so the functions stay, made coherent here.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

/// Escapes text for HTML element content and quoted attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Where the signed-in navigation goes in every page; filled in by the banners layer
/// ([`super::honest::banners`]) once it knows who is signed in.
pub const NAV_SLOT: &str = "<!--nav-->";

const STYLE: &str = "*{box-sizing:border-box}\
body{font:15px/1.45 system-ui,sans-serif;margin:0;background:#f4f4f1;color:#1f1f1f}\
header{background:#1d2430;color:#fff;padding:.5em 1em;display:flex;flex-wrap:wrap;gap:.4em 1.2em;align-items:center}\
header .brand{font-weight:600;color:#fff;text-decoration:none;margin-right:.4em}\
header nav{display:flex;flex-wrap:wrap;gap:.2em .9em;flex:1}\
header a{color:#e8eefc;text-decoration:none}header a:hover,header a[aria-current]{color:#fff;text-decoration:underline}\
header .who{display:flex;gap:.6em;align-items:center;font-size:.9em;color:#cdd6e6}\
main{max-width:1120px;margin:1em auto;padding:0 1em}\
h2{font-size:1.15em;margin:.6em 0}\
form{margin:0}form.filters{display:flex;gap:.6em;flex-wrap:wrap;align-items:end;margin-bottom:1em}\
form.filters label,form.stacked label{display:flex;flex-direction:column;font-size:.8em;color:#444;gap:.15em}\
form.stacked{display:flex;flex-direction:column;gap:.6em;max-width:42em}\
input,select,textarea,button{font:inherit;max-width:100%}textarea{width:100%}\
label.check{display:inline-flex;flex-direction:row;align-items:center;gap:.3em;font-size:.9em;color:#333}\
article{background:#fff;border:1px solid #d6d6d0;border-radius:6px;padding:.6em .9em;margin:.6em 0}\
article.current{outline:3px solid #3d6df2;outline-offset:1px}article.fresh{border-color:#3d6df2}\
.meta{font-size:.85em;color:#555;display:flex;gap:.3em 1em;flex-wrap:wrap;align-items:center}\
.text{font-size:1.05em;white-space:pre-wrap;overflow-wrap:anywhere;margin:.4em 0}\
mark{background:#ffd54f;padding:0 .1em;border-radius:2px}.purged{color:#777;font-style:italic}\
.badge{border-radius:3px;padding:0 .4em;font-size:.85em;background:#eee}\
.outcome-done{background:#c8e6c9}.outcome-failed{background:#ffcdd2}.outcome-pending{background:#fff9c4}\
.notice{background:#e3f2fd;border:1px solid #90caf9;padding:.5em 1em;border-radius:4px}\
.banner{background:#fff3cd;border:1px solid #e0a800;padding:.5em 1em;border-radius:4px;color:#3d2e00}\
.error{background:#ffebee;border:1px solid #ef9a9a;padding:.5em 1em;border-radius:4px}\
.unsure{background:#f3e5f5;border-left:4px solid #8e24aa;padding:.2em .6em;margin:.4em 0;font-size:.9em}\
button{cursor:pointer;padding:.2em .6em;border:1px solid #999;border-radius:4px;background:#fafafa}\
button.primary{background:#1d2430;color:#fff;border-color:#1d2430}button.danger{border-color:#c62828;color:#b71c1c}\
ul{margin:.3em 0;padding-left:1.2em}ul.rules,ul.actions{font-size:.9em}\
.bar{display:flex;flex-wrap:wrap;gap:.4em;align-items:center;margin-top:.5em}\
.bar form{display:inline-flex;flex-wrap:wrap;gap:.3em;align-items:center}\
.bar input[type=text]{width:16em}.labels{display:flex;flex-wrap:wrap;gap:.4em;align-items:center;font-size:.85em;margin-top:.3em}\
.keys{font-size:.85em;color:#444}kbd{border:1px solid #aaa;border-radius:3px;padding:0 .3em;background:#fff;font-size:.9em}\
.bulk{position:sticky;top:0;background:#f4f4f1;padding:.4em 0;z-index:1;display:flex;flex-wrap:wrap;gap:.5em;align-items:center}\
.scroll{overflow-x:auto}\
table.rules{border-collapse:collapse;width:100%;background:#fff}table.rules td,table.rules th{border-bottom:1px solid #ddd;padding:.3em .5em;text-align:left;vertical-align:top}\
pre{white-space:pre-wrap;overflow-wrap:anywhere}\
details.filters-box{margin:.4em 0 .8em}details.filters-box summary{cursor:pointer;color:#333}details.filters-box form{margin-top:.5em}\
button.settle-spam{background:#fdecea;border-color:#c62828}button.settle-not_spam{background:#e8f5e9;border-color:#2e7d32}\
@media (max-width:600px){main{padding:0 .5em}.keys{display:none}.bar input[type=text]{width:100%}header{padding:.5em}}";

/// A whole page: the frame, the style, the navigation slot, `body` (already HTML).
pub fn html_page(title: &str, body: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>{} · commentguard</title><style>{STYLE}</style>\
         <script src=\"/review/console.js\" defer></script></head><body>\
         <header><a class=\"brand\" href=\"/review\">commentguard</a>{NAV_SLOT}</header>\
         <main>{body}</main></body></html>",
        esc(title)
    )
}

/// HTML with the headers every review response carries: only the page's own script (no
/// inline script, nothing from elsewhere), no framing, no caching, no referrer leaking ids.
pub fn respond(status: StatusCode, html: String) -> Response {
    let mut resp = (status, html).into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    security_headers(h);
    resp
}

pub fn security_headers(h: &mut axum::http::HeaderMap) {
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
}

/// The page for a request the database could not answer.
pub fn unavailable() -> Response {
    error_page(
        StatusCode::SERVICE_UNAVAILABLE,
        "The database does not answer. Try again in a moment.",
    )
}

/// A page with one error message and the way back.
pub fn error_page(status: StatusCode, msg: &str) -> Response {
    respond(
        status,
        html_page(
            "Review",
            &format!(
                "<p class=\"error\">{}</p><p><a href=\"/review\">Back to the review</a></p>",
                esc(msg)
            ),
        ),
    )
}

/// "1 label", "2 labels".
pub fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Where a form post goes back to: the page it came from (only a review page of this
/// service), with `notice` added and earlier notices dropped.
pub fn back_to(back: Option<&str>, notice: &[(&str, &str)]) -> Response {
    const NOTICES: [&str; 8] = [
        "undone", "labelled", "hidden", "replied", "deleted", "settled", "verdict", "cursor",
    ];
    let back = back
        .filter(|b| b.starts_with("/review") && !b.starts_with("//") && !b.contains('\\'))
        .unwrap_or("/review");
    let (path, query) = back.split_once('?').unwrap_or((back, ""));
    let path = if path == "/review" { path } else { "/review" };
    let mut url = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
        if !NOTICES.contains(&k.as_ref()) {
            url.append_pair(&k, &v);
        }
    }
    for (k, v) in notice {
        url.append_pair(k, v);
    }
    axum::response::Redirect::to(&format!("{path}?{}", url.finish())).into_response()
}

/// A form about one comment: the CSRF token, the comment, the page to go back to.
#[derive(serde::Deserialize)]
pub struct CommentForm {
    pub csrf: String,
    pub comment_id: String,
    #[serde(default)]
    pub back: Option<String>,
    /// The decision's kind (`comment`, `mention`) the undo's Not spam label goes to; any
    /// when not given.
    #[serde(default)]
    pub kind: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_form_goes_back_only_to_a_review_page_with_its_filters() {
        let to = |back: Option<&str>| {
            back_to(back, &[("labelled", "c1")])
                .headers()
                .get(header::LOCATION)
                .unwrap()
                .to_str()
                .unwrap()
                .to_string()
        };
        assert_eq!(
            to(Some("/review?queue=review&labelled=c0&rule=x")),
            "/review?queue=review&rule=x&labelled=c1"
        );
        assert_eq!(
            to(Some("https://evil.example/review")),
            "/review?labelled=c1"
        );
        assert_eq!(to(Some("//evil.example")), "/review?labelled=c1");
        assert_eq!(
            to(Some("/review/../x?queue=unsure")),
            "/review?queue=unsure&labelled=c1"
        );
        assert_eq!(to(None), "/review?labelled=c1");
    }

    #[test]
    fn escaping_covers_markup_and_both_quotes() {
        assert_eq!(
            esc("<script>\"x\" & 'y'</script>"),
            "&lt;script&gt;&quot;x&quot; &amp; &#39;y&#39;&lt;/script&gt;"
        );
    }
}
