when doc is null then 'not valid JSON'
when doc_type <> 'object'
    then 'a JSON ' || doc_type || ', not an object'
when coalesce(profile_id, '') = ''
    then 'no identity at ' || %(identity_field)s
