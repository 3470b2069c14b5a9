//! One object in flight ahead of the one being finished: a loader fetches (and decrypts, chunk by
//! chunk) the next object while the previous one has its digest checked and is decoded, so the
//! network never waits on a digest or a codec. Used by the viewer's loaders and, unchanged, by
//! `cargo xtask bench pacs`.

use std::future::Future;

use futures_util::future::{self, Either};

/// What fetching one object came to.
pub enum Fetched<T> {
    /// An object, to finish while the next one is fetched.
    Object(T),
    /// Nothing this time (e.g. put back in the queue after a credentials prompt): fetch again.
    Retry,
    /// No more work for this loader.
    Stop,
}

/// Runs one loader: `fetch_next()` starts the next fetch (`None`: the queue is empty); each
/// fetched object goes to `finish`, which runs while the following fetch proceeds. At most one
/// object is being finished per loader, so memory stays bounded by two objects per loader.
pub async fn fetch_ahead<T, Fetch, Finish>(
    mut fetch_next: impl FnMut() -> Option<Fetch>,
    mut finish: impl FnMut(T) -> Finish,
) where
    Fetch: Future<Output = Fetched<T>>,
    Finish: Future<Output = ()>,
{
    let mut behind = Either::Left(future::ready(()));
    loop {
        let Some(fetching) = fetch_next() else { break };
        let ((), fetched) = future::join(behind, fetching).await;
        behind = Either::Left(future::ready(()));
        match fetched {
            Fetched::Object(object) => behind = Either::Right(finish(object)),
            Fetched::Retry => {}
            Fetched::Stop => break,
        }
    }
    behind.await;
}
