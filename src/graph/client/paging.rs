//! Reading a listing page by page, following only the cursors Meta gives.

use super::*;

impl GraphClient {
    /// GETs `path` with `fields`, following the `after` cursor for up to `max_pages` pages.
    /// Meta's `paging.next` URL carries the token, so it is never followed itself.
    pub(in crate::graph) async fn get_pages<T: DeserializeOwned>(
        &self,
        ctx: &AccountCtx,
        endpoint: Endpoint,
        path: &[&str],
        fields: &str,
        max_pages: usize,
    ) -> Result<Vec<T>, GraphError> {
        let mut out = Vec::new();
        let mut after: Option<String> = None;
        for _ in 0..max_pages {
            let (data, next) = self
                .get_page(ctx, endpoint, path, fields, after.as_deref())
                .await?;
            out.extend(data);
            after = next;
            if after.is_none() {
                break;
            }
        }
        Ok(out)
    }

    /// One page of `path` with `fields`, after the cursor `after`: its items and the cursor of
    /// the next page (`None`: the last page).
    pub(in crate::graph) async fn get_page<T: DeserializeOwned>(
        &self,
        ctx: &AccountCtx,
        endpoint: Endpoint,
        path: &[&str],
        fields: &str,
        after: Option<&str>,
    ) -> Result<(Vec<T>, Option<String>), GraphError> {
        let mut params = vec![
            ("fields", fields.to_string()),
            ("limit", PAGE_SIZE.to_string()),
        ];
        if let Some(a) = after {
            params.push(("after", a.to_string()));
        }
        let v = self.call(ctx, endpoint, Method::GET, path, params).await?;
        let page: Page<T> = decode(endpoint, v)?;
        let next = page.next_cursor();
        Ok((page.data, next))
    }
}
