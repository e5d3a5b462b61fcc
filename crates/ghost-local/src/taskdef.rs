//! The subset of an ECS task definition the harness runs, in the ECS API's JSON shape (camelCase, as
//! `aws ecs register-task-definition --cli-input-json` takes it), so the run lens can hand over its JSON as is.
//! Fields the harness does not use (cpu, memory, roles, networkMode, logConfiguration, ...) are ignored.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskDefinition {
    pub family: String,
    pub container_definitions: Vec<ContainerDefinition>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub volumes: Vec<Volume>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerDefinition {
    pub name: String,
    pub image: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub essential: Option<bool>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub port_mappings: Vec<PortMapping>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub environment: Vec<KeyValuePair>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub secrets: Vec<Secret>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mount_points: Vec<MountPoint>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_check: Option<HealthCheck>,
    /// Seconds between SIGTERM and SIGKILL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_timeout: Option<i32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PortMapping {
    pub container_port: u16,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_port: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyValuePair {
    pub name: String,
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Secret {
    pub name: String,
    /// A Secrets Manager or SSM ARN (optionally with a `:json-key::` suffix).
    pub value_from: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MountPoint {
    pub source_volume: String,
    pub container_path: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_only: Option<bool>,
}

/// ECS health check: `command` is `["CMD-SHELL", "..."]` or `["CMD", ...]` (Docker's form too); times in seconds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HealthCheck {
    pub command: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retries: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_period: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Volume {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub efs_volume_configuration: Option<EfsVolumeConfiguration>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EfsVolumeConfiguration {
    pub file_system_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub root_directory: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transit_encryption: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_config: Option<serde_json::Value>,
}

impl TaskDefinition {
    /// Parses the ECS API JSON (`register-task-definition --cli-input-json` shape).
    pub fn from_json(json: &str) -> Result<Self> {
        let td: Self = serde_json::from_str(json).map_err(|e| Error::TaskDef(e.to_string()))?;
        if td.container_definitions.is_empty() {
            return Err(Error::TaskDef("containerDefinitions is empty".into()));
        }
        Ok(td)
    }

    /// The container the harness runs: the one named `name`, else the first essential one.
    pub fn container(&self, name: Option<&str>) -> Result<&ContainerDefinition> {
        match name {
            Some(n) => self
                .container_definitions
                .iter()
                .find(|c| c.name == n)
                .ok_or_else(|| Error::TaskDef(format!("no container named {n}"))),
            None => self
                .container_definitions
                .iter()
                .find(|c| c.essential != Some(false))
                .ok_or_else(|| Error::TaskDef("no essential container".into())),
        }
    }

    pub fn volume(&self, name: &str) -> Option<&Volume> {
        self.volumes.iter().find(|v| v.name == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"{
      "family": "ghost",
      "networkMode": "awsvpc",
      "requiresCompatibilities": ["FARGATE"],
      "cpu": "256", "memory": "512",
      "containerDefinitions": [{
        "name": "ghost", "image": "123.dkr.ecr.eu-west-1.amazonaws.com/ghost:6", "essential": true,
        "portMappings": [{"containerPort": 2368, "protocol": "tcp"}],
        "environment": [{"name": "database__client", "value": "sqlite3"}],
        "secrets": [{"name": "mail__options__auth__pass", "valueFrom": "arn:aws:secretsmanager:eu-west-1:1:secret:mail"}],
        "mountPoints": [{"sourceVolume": "content", "containerPath": "/var/lib/ghost/content"}],
        "healthCheck": {"command": ["CMD-SHELL", "true"], "interval": 30, "retries": 3},
        "stopTimeout": 30,
        "logConfiguration": {"logDriver": "awslogs"}
      }],
      "volumes": [{"name": "content", "efsVolumeConfiguration": {"fileSystemId": "fs-1", "transitEncryption": "ENABLED",
                   "authorizationConfig": {"accessPointId": "fsap-1", "iam": "ENABLED"}}}]
    }"#;

    #[test]
    fn parses_the_ecs_api_shape() {
        let td = TaskDefinition::from_json(SAMPLE).unwrap();
        let c = td.container(None).unwrap();
        assert_eq!(c.port_mappings[0].container_port, 2368);
        assert_eq!(c.secrets[0].value_from, "arn:aws:secretsmanager:eu-west-1:1:secret:mail");
        assert_eq!(c.mount_points[0].source_volume, "content");
        assert_eq!(c.stop_timeout, Some(30));
        let v = td.volume("content").unwrap();
        assert_eq!(v.efs_volume_configuration.as_ref().unwrap().file_system_id, "fs-1");
        // Round trip keeps the camelCase shape.
        let json = serde_json::to_value(&td).unwrap();
        assert!(json["containerDefinitions"][0]["portMappings"][0]["containerPort"].is_number());
    }

    #[test]
    fn rejects_a_definition_without_containers() {
        let err = TaskDefinition::from_json(r#"{"family":"x","containerDefinitions":[]}"#).unwrap_err();
        assert!(err.to_string().contains("containerDefinitions"), "{err}");
        let err = TaskDefinition::from_json(r#"{"family":"x"}"#).unwrap_err();
        assert!(err.to_string().contains("containerDefinitions"), "{err}");
    }
}
