//! Sources and campaigns.

use crate::error::Result;
use crate::App;
use leadline_domain::Channel;
use leadline_store::sources::{self, Campaign, Source};

impl App {
    pub async fn list_sources(&self) -> Result<Vec<Source>> {
        let mut conn = self.db.acquire().await?;
        Ok(sources::list_sources(&mut conn).await?)
    }

    pub async fn list_campaigns(&self) -> Result<Vec<Campaign>> {
        let mut conn = self.db.acquire().await?;
        Ok(sources::list_campaigns(&mut conn).await?)
    }

    /// The source called `name`, created with `channel` on first use.
    pub async fn ensure_source(&self, name: &str, channel: Channel) -> Result<Source> {
        let mut conn = self.db.acquire().await?;
        Ok(sources::ensure_source(&mut conn, name, channel.as_str(), self.now()).await?)
    }

    /// The campaign named `name` (blank or absent means none), created on first use.
    pub async fn ensure_campaign(
        &self,
        name: Option<&str>,
        source: &Source,
        channel: Channel,
    ) -> Result<Option<Campaign>> {
        let mut conn = self.db.acquire().await?;
        Ok(
            sources::ensure_named_campaign(&mut conn, name, source, channel.as_str(), self.now())
                .await?,
        )
    }

    pub async fn source_by_name(&self, name: &str) -> Result<Option<Source>> {
        let mut conn = self.db.acquire().await?;
        Ok(sources::source_by_name(&mut conn, name).await?)
    }
}
