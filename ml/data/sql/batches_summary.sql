-- Records read, loaded and quarantined over every successful load batch.
select
    coalesce(sum(records_read), 0),
    coalesce(sum(records_loaded), 0),
    coalesce(sum(records_quarantined), 0),
    count(*)
from {raw_batches}
where status = 'success'
