//! The statement plumbing every sqlx backend needs, written once as a macro because sqlx's
//! executors are concrete per database (`&mut SqliteConnection`, `&PgPool`, ...): running a
//! statement with the core's [`Param`](crate::Param)s, mapping rows as they stream in, and a
//! [`Transaction`](crate::Transaction) type, and reading the columns whose Rust type the
//! database decodes as it is. A backend supplies its database type, its binding function and
//! how it reads GUIDs and timestamps.

/// Defines, in the calling module:
/// - `fetch_on` and `execute_on`, generic over any executor of `database`;
/// - the transaction type named by `transaction`;
/// - the row wrapper named by `row` (a tuple struct over `&database::Row`) implementing
///   [`SqlRow`](crate::SqlRow), with a `get` that reports a type mismatch as `Corrupt`; for GUIDs
///   and timestamps it calls the backend's own `uuid_column` and `time_column` methods on it.
///
/// ```ignore
/// store_sql::sqlx_statements!(database: Sqlite, bind: bind, row: Row, transaction: SqliteTx);
/// impl Row<'_> {
///     fn uuid_column(&self, column: &str) -> StoreResult<Option<Uuid>> { ... }
///     fn time_column(&self, column: &str) -> StoreResult<Option<DateTime<Utc>>> { ... }
/// }
/// ```
#[macro_export]
macro_rules! sqlx_statements {
    (database: $db:ty, bind: $bind:path, row: $row:ident, transaction: $tx:ident $(,)?) => {
        /// A row as the SQL core reads it.
        struct $row<'r>(&'r <$db as $crate::__private::sqlx::Database>::Row);

        impl<'r> $row<'r> {
            fn get<T>(&self, column: &str) -> ::store::StoreResult<T>
            where
                T: $crate::__private::sqlx::Decode<'r, $db> + $crate::__private::sqlx::Type<$db>,
            {
                $crate::__private::sqlx::Row::try_get(self.0, column)
                    .map_err(|e| ::store::StoreError::Corrupt(format!("{column}: {e}")))
            }
        }

        impl $crate::SqlRow for $row<'_> {
            fn i64(&self, column: &str) -> ::store::StoreResult<Option<i64>> {
                self.get(column)
            }

            fn bool(&self, column: &str) -> ::store::StoreResult<Option<bool>> {
                self.get(column)
            }

            fn text(&self, column: &str) -> ::store::StoreResult<Option<String>> {
                self.get(column)
            }

            fn bytes(&self, column: &str) -> ::store::StoreResult<Option<Vec<u8>>> {
                self.get(column)
            }

            fn uuid(&self, column: &str) -> ::store::StoreResult<Option<$crate::__private::Uuid>> {
                self.uuid_column(column)
            }

            fn time(
                &self,
                column: &str,
            ) -> ::store::StoreResult<Option<$crate::__private::DateTime<$crate::__private::Utc>>> {
                self.time_column(column)
            }
        }

        /// Runs one statement and maps each row as it arrives.
        async fn fetch_on<'e, E, T, F>(
            executor: E,
            sql: &'e str,
            params: &[$crate::Param<'e>],
            mut map: F,
        ) -> ::std::result::Result<::std::vec::Vec<T>, $crate::SqlError>
        where
            E: $crate::__private::sqlx::Executor<'e, Database = $db>,
            F: FnMut(&dyn $crate::SqlRow) -> ::store::StoreResult<T>,
        {
            use $crate::__private::TryStreamExt as _;
            let mut rows = $crate::__private::sqlx::query_with(sql, $bind(params)?).fetch(executor);
            let mut out = ::std::vec::Vec::new();
            while let Some(row) = rows.try_next().await? {
                out.push(map(&$row(&row))?);
            }
            Ok(out)
        }

        /// Runs one writing statement; returns how many rows it changed.
        async fn execute_on<'e, E>(
            executor: E,
            sql: &'e str,
            params: &[$crate::Param<'e>],
        ) -> ::std::result::Result<u64, $crate::SqlError>
        where
            E: $crate::__private::sqlx::Executor<'e, Database = $db>,
        {
            Ok($crate::__private::sqlx::query_with(sql, $bind(params)?)
                .execute(executor)
                .await?
                .rows_affected())
        }

        /// A write transaction on one connection; rolls back when dropped uncommitted.
        pub struct $tx($crate::__private::sqlx::Transaction<'static, $db>);

        #[$crate::__private::async_trait]
        impl $crate::Transaction for $tx {
            async fn fetch<T, F>(
                &mut self,
                sql: &str,
                params: &[$crate::Param<'_>],
                map: F,
            ) -> ::std::result::Result<::std::vec::Vec<T>, $crate::SqlError>
            where
                T: Send,
                F: FnMut(&dyn $crate::SqlRow) -> ::store::StoreResult<T> + Send,
            {
                fetch_on(&mut *self.0, sql, params, map).await
            }

            async fn execute(
                &mut self,
                sql: &str,
                params: &[$crate::Param<'_>],
            ) -> ::std::result::Result<u64, $crate::SqlError> {
                execute_on(&mut *self.0, sql, params).await
            }

            async fn commit(self) -> ::std::result::Result<(), $crate::SqlError> {
                Ok(self.0.commit().await?)
            }
        }
    };
}
