-- A new candidate version.
insert into {model_versions} (
    model_name, version, status, fingerprint, training_export, artifact_uri,
    metrics, baselines, leakage, data, params
)
values (%s, %s, 'candidate', %s, %s, %s, %s, %s, %s, %s, %s)
returning {columns}
