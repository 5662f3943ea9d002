-- Quarantined records of the successful load batches, by dataset and reason,
-- most frequent first.
select
    quarantine.dataset,
    quarantine.reason,
    count(*)
from {raw_quarantine} as quarantine
inner join {raw_batches} as batches
    on batches.batch_id = quarantine.batch_id
where batches.status = 'success'
group by 1, 2
order by 3 desc
