//! How `sc.parallelize` cuts a driver-side collection into partitions, as PySpark does it.
//!
//! A list is pickled in batches of `batchSize = max(1, min(len // numSlices, 1024))` items and
//! the JVM's `ParallelCollectionRDD.slice` cuts the *batches*: partition i gets batches
//! `[i * nBatches / numSlices, (i + 1) * nBatches / numSlices)`. So 10 items in 4 partitions
//! are `[[1, 2], [3, 4], [5, 6], [7, 8, 9, 10]]`, not Scala's `[[1, 2], [3, 4, 5], …]`.
//! A `range` is special-cased (`SparkContext.parallelize`): partition i starts at
//! `start + int(i * size / numSlices) * step`, with a float division.

use std::ops::Range;

/// `SparkContext._batchSize` default for parallelize (`batchSize=0` → auto, capped at 1024).
const MAX_BATCH: usize = 1024;

/// Index ranges of a list of `len` items for each of `num_slices` partitions.
pub fn list_slices(len: usize, num_slices: u32) -> Vec<Range<usize>> {
    let n = num_slices.max(1) as usize;
    let batch = (len / n).clamp(1, MAX_BATCH);
    let batches = len.div_ceil(batch);
    (0..n)
        .map(|i| {
            let (b0, b1) = (i * batches / n, (i + 1) * batches / n);
            (b0 * batch).min(len)..(b1 * batch).min(len)
        })
        .collect()
}

/// The `range(start, stop, step)` of each partition of `parallelize(range(...), num_slices)`.
pub fn range_slices(start: i64, size: usize, step: i64, num_slices: u32) -> Vec<(i64, i64, i64)> {
    let n = num_slices.max(1);
    let get_start = |split: u32| start + ((split as f64 * size as f64 / n as f64) as i64) * step;
    (0..n).map(|i| (get_start(i), get_start(i + 1), step)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cut<T: Clone>(items: &[T], n: u32) -> Vec<Vec<T>> {
        list_slices(items.len(), n).into_iter().map(|r| items[r].to_vec()).collect()
    }

    fn range_cut(start: i64, stop: i64, step: i64, n: u32) -> Vec<Vec<i64>> {
        let size = ((stop - start) as f64 / step as f64).ceil().max(0.0) as usize;
        range_slices(start, size, step, n)
            .into_iter()
            .map(|(a, b, s)| -> Vec<i64> {
                if s > 0 {
                    (a..b).step_by(s as usize).collect()
                } else {
                    (b + 1..=a).rev().step_by((-s) as usize).collect()
                }
            })
            .collect()
    }

    #[test]
    fn lists_are_cut_by_batches_as_pyspark_does() {
        // tests/fixtures/pyspark/basics.out (PySpark 4.0.5, local[4]).
        let ten: Vec<i32> = (1..=10).collect();
        assert_eq!(cut(&ten, 4), vec![vec![1, 2], vec![3, 4], vec![5, 6], vec![7, 8, 9, 10]]);
        assert_eq!(cut(&[1, 2, 3], 5), vec![vec![], vec![1], vec![], vec![2], vec![3]]);
        let s: Vec<char> = "abcdefg".chars().collect();
        assert_eq!(cut(&s, 3), vec![vec!['a', 'b'], vec!['c', 'd'], vec!['e', 'f', 'g']]);
        let t: Vec<i32> = (1..=22).collect();
        assert_eq!(
            cut(&t, 4),
            vec![(1..=5).collect::<Vec<_>>(), (6..=10).collect(), (11..=15).collect(), (16..=22).collect()]
        );
        assert_eq!(cut(&['h', 'e', 'l', 'l', 'o'], 2), vec![vec!['h', 'e'], vec!['l', 'l', 'o']]);
        assert_eq!(cut::<i32>(&[], 2), vec![Vec::<i32>::new(), Vec::new()]);
    }

    #[test]
    fn ranges_are_cut_by_float_division_as_pyspark_does() {
        assert_eq!(range_cut(0, 10, 1, 3), vec![vec![0, 1, 2], vec![3, 4, 5], vec![6, 7, 8, 9]]);
        assert_eq!(
            range_cut(1, 101, 7, 4),
            vec![vec![1, 8, 15], vec![22, 29, 36, 43], vec![50, 57, 64, 71], vec![78, 85, 92, 99]]
        );
        assert_eq!(range_cut(0, 10, 1, 4), vec![vec![0, 1], vec![2, 3, 4], vec![5, 6], vec![7, 8, 9]]);
        assert_eq!(range_cut(0, 20, 3, 4), vec![vec![0], vec![3, 6], vec![9, 12], vec![15, 18]]);
        assert_eq!(range_cut(10, 0, -2, 3), vec![vec![10], vec![8, 6], vec![4, 2]]);
    }
}
