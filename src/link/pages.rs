//! The Facebook Page behind an Instagram account (Facebook Login), and a token that acts for
//! it: webhooks reach the app only once it is installed on that Page.

use crate::graph::{AccountCtx, GraphClient};

/// A Page and a context whose token is the Page's own.
#[derive(Debug, Clone)]
pub struct LinkedPage {
    pub id: String,
    pub ctx: AccountCtx,
}

/// Finds the account's Page with the account's token. A Page token names its own Page
/// (`GET /me`); a user token lists the Pages it manages with their tokens (`GET /me/accounts`).
/// `page_id` (from the settings) picks among them and is trusted when the token is the Page's.
pub async fn find_page(
    graph: &GraphClient,
    ctx: &AccountCtx,
    page_id: Option<&str>,
) -> Result<LinkedPage, String> {
    let account = ctx.account_id.as_str();
    let linked_to = |p: &crate::graph::setup::PageInfo| {
        p.instagram_business_account
            .as_ref()
            .is_some_and(|ig| ig.id == account)
    };
    match graph.page_of_token(ctx).await {
        Ok(Some(page)) if linked_to(&page) || page_id == Some(page.id.as_str()) => {
            return Ok(LinkedPage {
                id: page.id,
                ctx: ctx.clone(),
            })
        }
        Ok(Some(page)) => {
            return Err(format!(
                "the token is Page {}'s, which is not linked to Instagram account {account}",
                page.id
            ))
        }
        Ok(None) => {}
        Err(e) => return Err(e.to_string()),
    }
    let pages = graph.pages_of_user(ctx).await.map_err(|e| e.to_string())?;
    let page = pages
        .into_iter()
        .find(|p| page_id.map_or_else(|| linked_to(p), |id| p.id == id))
        .ok_or_else(|| {
            format!("none of the Pages this token manages is linked to Instagram account {account}")
        })?;
    let token = page.access_token.ok_or_else(|| {
        format!(
            "Meta gave no token for Page {} (the person needs a task on the Page)",
            page.id
        )
    })?;
    Ok(LinkedPage {
        id: page.id,
        ctx: AccountCtx {
            account_id: ctx.account_id.clone(),
            token,
        },
    })
}
