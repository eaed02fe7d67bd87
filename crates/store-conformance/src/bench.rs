//! A write-and-read benchmark shared by the backends' `write_million` examples: timings are
//! printed, never asserted.

use crate::{grant, r, w};
use std::time::{Duration, Instant};

use store::{GenerationWriter, Store};

use crate::sample::{new_service, user};

/// Timings of one benchmark run.
#[derive(Debug, Clone)]
pub struct BenchReport {
    pub users: u64,
    pub body_bytes: u64,
    /// Rendering and spooling every user into the writer.
    pub push: Duration,
    /// Sorting, diffing, writing and committing the first generation.
    pub first_commit: Duration,
    /// A second full replacement with 1% of the users changed.
    pub replace: Duration,
    /// Mean time of one 100-user page at the start and at the end of the set.
    pub first_page: Duration,
    pub last_page: Duration,
}

impl std::fmt::Display for BenchReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let rate = |d: Duration| self.users as f64 / d.as_secs_f64().max(1e-9);
        writeln!(f, "users:              {}", self.users)?;
        writeln!(f, "rendered JSON:      {:.1} MB", self.body_bytes as f64 / 1e6)?;
        writeln!(f, "push (render+spool): {:>8.2} s", self.push.as_secs_f64())?;
        writeln!(
            f,
            "first commit:       {:>8.2} s  ({:.0} users/s)",
            self.first_commit.as_secs_f64(),
            rate(self.first_commit)
        )?;
        writeln!(
            f,
            "push + first commit:{:>8.2} s  ({:.0} users/s)",
            (self.push + self.first_commit).as_secs_f64(),
            rate(self.push + self.first_commit)
        )?;
        writeln!(
            f,
            "replace (1% changed, push+diff+write+commit+discard): {:.2} s",
            self.replace.as_secs_f64()
        )?;
        writeln!(f, "page 1 of 100:      {:>8.3} ms", self.first_page.as_secs_f64() * 1e3)?;
        write!(f, "last page of 100:   {:>8.3} ms", self.last_page.as_secs_f64() * 1e3)
    }
}

/// Writes `users` users through the `GenerationWriter` into a new service, replaces them once
/// with 1% changed, and times page reads at both ends of the set.
pub async fn write_users_bench(store: &dyn Store, users: u64) -> Result<BenchReport, Box<dyn std::error::Error>> {
    let service = store.create_service(&grant(new_service("bench"))).await?;

    let started = Instant::now();
    let mut writer = GenerationWriter::new()?;
    let mut body_bytes = 0u64;
    for n in 0..users {
        let u = user(n, "Bench");
        body_bytes += u.render_json().len() as u64;
        writer.push(n + 1, &u)?;
    }
    let push = started.elapsed();
    let started = Instant::now();
    let first = writer.commit(store, &w(service.id), None, false).await?;
    let first_commit = started.elapsed();
    if first.total != users as i64 {
        return Err(format!("committed {} users, expected {users}", first.total).into());
    }

    let started = Instant::now();
    let mut writer = GenerationWriter::new()?;
    for n in 0..users {
        let tag = if n % 100 == 0 { "Changed" } else { "Bench" };
        writer.push(n + 1, &user(n, tag))?;
    }
    let second = writer.commit(store, &w(service.id), None, true).await?;
    let replace = started.elapsed();
    if second.changed != users.div_ceil(100) as i64 {
        return Err(format!("{} users changed, expected {}", second.changed, users.div_ceil(100)).into());
    }

    let time_page = |first_ordinal: i64| async move {
        const READS: u32 = 200;
        let started = Instant::now();
        for _ in 0..READS {
            let page = store.read_page(&r(service.id), None, first_ordinal, 100).await?;
            if page.map_or(0, |p| p.bodies.len()) == 0 {
                return Err::<Duration, Box<dyn std::error::Error>>("empty page".into());
            }
        }
        Ok(started.elapsed() / READS)
    };
    let first_page = time_page(1).await?;
    let last_page = time_page((users as i64 - 99).max(1)).await?;
    Ok(BenchReport {
        users,
        body_bytes,
        push,
        first_commit,
        replace,
        first_page,
        last_page,
    })
}
