-- Every delivery of one build, per audience and destination.
select
    audience_id,
    destination,
    status,
    attempts,
    count_entered,
    count_exited,
    count_withheld_consent,
    count_withheld_suppressed,
    error
from {audience_deliveries}
where batch_id = %s
order by audience_id, destination
