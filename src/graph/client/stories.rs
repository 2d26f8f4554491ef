//! The story calls: the account's live stories and each story's insights.

use super::*;

impl GraphClient {
    /// The account's current stories (`GET /{ig-user-id}/stories?fields=id,timestamp,
    /// media_type`), all pages. A story whose timestamp cannot be read gets the current time
    /// (logged): it is still tracked rather than dropped.
    pub async fn stories(
        &self,
        ctx: &AccountCtx,
        ig_user_id: &str,
    ) -> Result<Vec<Story>, GraphError> {
        check_id("ig user id", ig_user_id)?;
        let wire: Vec<StoryWire> = self
            .get_pages(
                ctx,
                Endpoint::Stories,
                &[ig_user_id, "stories"],
                "id,timestamp,media_type",
                MAX_STORY_PAGES,
            )
            .await?;
        let mut out = Vec::with_capacity(wire.len());
        for s in wire {
            let timestamp = match s.timestamp.as_deref().and_then(parse_graph_timestamp) {
                Some(t) => t,
                None => {
                    tracing::warn!(
                        graph.story_id = %s.id,
                        graph.timestamp = ?s.timestamp,
                        "story timestamp unreadable; using the current time"
                    );
                    std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .map_or(0, |d| d.as_secs() as i64)
                }
            };
            out.push(Story {
                id: s.id,
                timestamp,
                media_type: s.media_type,
            });
        }
        Ok(out)
    }

    /// A story's insights, raw (`GET /{story-id}/insights?metric=a,b`). Parse the answer with
    /// [`super::parse_insights`]. Fewer than 5 viewers gives [`GraphError::NotEnoughViewers`].
    pub async fn story_insights(
        &self,
        ctx: &AccountCtx,
        story_id: &str,
        metrics: &[&str],
    ) -> Result<Value, GraphError> {
        self.story_insights_with_breakdown(ctx, story_id, metrics, None)
            .await
    }

    /// As [`GraphClient::story_insights`], with a `breakdown` (for `navigation`:
    /// [`super::STORY_NAVIGATION_BREAKDOWN`]). Meta refuses a breakdown when any requested
    /// metric does not support it, so read `navigation` in its own call.
    pub async fn story_insights_with_breakdown(
        &self,
        ctx: &AccountCtx,
        story_id: &str,
        metrics: &[&str],
        breakdown: Option<&str>,
    ) -> Result<Value, GraphError> {
        check_id("story id", story_id)?;
        let mut params = vec![("metric", metrics.join(","))];
        if let Some(b) = breakdown {
            params.push(("breakdown", b.to_string()));
        }
        self.call(
            ctx,
            Endpoint::Insights,
            Method::GET,
            &[story_id, "insights"],
            params,
        )
        .await
    }
}
