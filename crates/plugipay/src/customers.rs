//! The customer operations: create, get, list (one page) and update.

use plugipay_api::types;
use plugipay_api::validate;

use crate::client::Client;
use crate::customer::{Customer, CustomerUpdate, ListParams, NewCustomer, Page};
use crate::error::Error;
use crate::request::{Request, into_future, write_op};

/// The customers of a workspace: `client.customers()`.
#[derive(Debug, Clone, Copy)]
pub struct Customers<'a> {
    client: &'a Client,
}

impl<'a> Customers<'a> {
    pub(crate) fn new(client: &'a Client) -> Self {
        Self { client }
    }

    /// Creates a customer. A fresh Idempotency-Key is sent unless
    /// [`Request::idempotency_key`] gives one. An `externalId` another
    /// customer holds fails with [`ErrorCode::Conflict`](crate::ErrorCode::Conflict).
    pub fn create(&self, customer: NewCustomer) -> Request<CreateCustomer> {
        Request::new(self.client, CreateCustomer { customer })
    }

    /// Fetches one customer by id. A customer that does not exist, or lives in
    /// another workspace, fails with [`ErrorCode::NotFound`](crate::ErrorCode::NotFound).
    pub fn get(&self, id: impl Into<String>) -> Request<GetCustomer> {
        Request::new(self.client, GetCustomer { id: id.into() })
    }

    /// Fetches one page of customers.
    pub fn list(&self, params: ListParams) -> Request<ListCustomers> {
        Request::new(self.client, ListCustomers { params })
    }

    /// Changes the fields `update` touches and no others (PATCH).
    pub fn update(&self, id: impl Into<String>, update: CustomerUpdate) -> Request<UpdateCustomer> {
        Request::new(
            self.client,
            UpdateCustomer {
                id: id.into(),
                update,
            },
        )
    }
}

/// `customers().create(..)`.
#[derive(Debug, Clone)]
pub struct CreateCustomer {
    customer: NewCustomer,
}

/// `customers().get(..)`.
#[derive(Debug, Clone)]
pub struct GetCustomer {
    id: String,
}

/// `customers().list(..)`.
#[derive(Debug, Clone)]
pub struct ListCustomers {
    params: ListParams,
}

/// `customers().update(..)`.
#[derive(Debug, Clone)]
pub struct UpdateCustomer {
    id: String,
    update: CustomerUpdate,
}

write_op!(CreateCustomer);
write_op!(UpdateCustomer);
into_future!(CreateCustomer => Customer);
into_future!(GetCustomer => Customer);
into_future!(ListCustomers => Page<Customer>);
into_future!(UpdateCustomer => Customer);

fn checked_id(id: &str) -> Result<(), Error> {
    validate::path_segment("id", id).map_err(Error::invalid)
}

impl Request<CreateCustomer> {
    /// Sends the call; the same as awaiting the request.
    pub async fn send(self) -> Result<Customer, Error> {
        let body = self
            .op
            .customer
            .clone()
            .into_request()
            .map_err(Error::invalid)?;
        let key = self.resolved_idempotency_key()?;
        let on_behalf_of = self.resolved_on_behalf_of()?;
        let envelope = self
            .run(|api| async move {
                let mut call = api.create_customer().idempotency_key(key).body(body);
                if let Some(account) = on_behalf_of {
                    call = call.x_plugipay_on_behalf_of(account);
                }
                call.send().await
            })
            .await?;
        Ok(envelope.data.into())
    }
}

impl Request<GetCustomer> {
    /// Sends the call; the same as awaiting the request.
    pub async fn send(self) -> Result<Customer, Error> {
        checked_id(&self.op.id)?;
        let id = self.op.id.clone();
        let on_behalf_of = self.resolved_on_behalf_of()?;
        let envelope = self
            .run(|api| async move {
                let mut call = api.get_customer().id(id);
                if let Some(account) = on_behalf_of {
                    call = call.x_plugipay_on_behalf_of(account);
                }
                call.send().await
            })
            .await?;
        Ok(envelope.data.into())
    }
}

impl Request<ListCustomers> {
    /// Sends the call; the same as awaiting the request.
    pub async fn send(self) -> Result<Page<Customer>, Error> {
        let params = self.op.params.clone();
        let limit = params
            .limit
            .map(|limit| {
                validate::list_limit(limit).map_err(Error::invalid)?;
                Ok::<_, Error>(std::num::NonZeroU32::new(limit).expect("checked to be at least 1"))
            })
            .transpose()?;
        let on_behalf_of = self.resolved_on_behalf_of()?;
        let envelope = self
            .run(|api| async move {
                let mut call = api.list_customers();
                if let Some(limit) = limit {
                    call = call.limit(limit);
                }
                if let Some(cursor) = params.cursor {
                    call = call.cursor(cursor);
                }
                if let Some(email) = params.email {
                    call = call.email(email);
                }
                if let Some(external_id) = params.external_id {
                    call = call.external_id(external_id);
                }
                if let Some(created_after) = params.created_after {
                    call = call.created_after(created_after);
                }
                if let Some(order) = params.order {
                    call = call.order(types::SortOrder::from(order));
                }
                if let Some(account) = on_behalf_of {
                    call = call.x_plugipay_on_behalf_of(account);
                }
                call.send().await
            })
            .await?;
        Ok(Page {
            items: envelope.data.into_iter().map(Customer::from).collect(),
            cursor: envelope.meta.cursor,
            has_more: envelope.meta.has_more,
            request_id: envelope.meta.request_id,
        })
    }
}

impl Request<UpdateCustomer> {
    /// Sends the call; the same as awaiting the request.
    pub async fn send(self) -> Result<Customer, Error> {
        checked_id(&self.op.id)?;
        let id = self.op.id.clone();
        let body = self
            .op
            .update
            .clone()
            .into_request()
            .map_err(Error::invalid)?;
        let key = self.resolved_idempotency_key()?;
        let on_behalf_of = self.resolved_on_behalf_of()?;
        let envelope = self
            .run(|api| async move {
                let mut call = api.update_customer().id(id).idempotency_key(key).body(body);
                if let Some(account) = on_behalf_of {
                    call = call.x_plugipay_on_behalf_of(account);
                }
                call.send().await
            })
            .await?;
        Ok(envelope.data.into())
    }
}
